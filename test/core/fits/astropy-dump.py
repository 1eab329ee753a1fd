# Reads FITS files with astropy (the reference) and prints, per file, every HDU's class and the
# value of every keyword (first occurrence, as header[kw] returns it) as JSON on stdout.
# Usage: python3 astropy-dump.py < list-of-paths.json
import json, sys, warnings
from astropy.io import fits

warnings.simplefilter("ignore")


def enc(v):
    if isinstance(v, bool):
        return {"b": v}
    if isinstance(v, int):
        return {"i": str(v)}
    if isinstance(v, float):
        return {"f": repr(v)}
    if isinstance(v, complex):
        return {"c": [repr(v.real), repr(v.imag)]}
    if isinstance(v, str):
        return {"s": v}
    if v is None or isinstance(v, fits.card.Undefined):
        return {"u": True}
    return {"other": repr(v)}


def dump_header(h):
    out = {}
    for card in h.cards:
        kw = card.keyword
        if kw in ("", "COMMENT", "HISTORY") or kw in out:
            continue
        try:
            out[kw] = enc(h[kw])
        except Exception as e:  # noqa: BLE001 - any failure is a result here
            out[kw] = {"err": f"{type(e).__name__}: {e}"}
    return out


result = {}
for path in json.load(sys.stdin):
    try:
        with fits.open(path) as hl:
            hdus = []
            for hdu in hl:
                entry = {"cls": type(hdu).__name__, "header": dump_header(hdu.header)}
                if isinstance(hdu, fits.CompImageHDU):
                    entry["raw"] = dump_header(hdu._header)
                hdus.append(entry)
            result[path] = {"hdus": hdus}
    except Exception as e:  # noqa: BLE001
        result[path] = {"error": f"{type(e).__name__}: {e}"}
json.dump(result, sys.stdout)
