// Test-time counterpart for test/core/identity/x509-name.test.ts: runs BouncyCastle's own ASN.1
// classes (Debian's libbcprov-java) on inputs given as hex, one a line on stdin, one line out each.
// Run: java -cp /usr/share/java/bcprov.jar BcHarness.java MODE
//   value  hex DER of one value      -> BC class name, then getString() (\\uXXXX-escaped) or, for a
//                                       DERBitString, getBytes() as hex; "ERROR <exception>" if BC refuses it
//   sort   hex DER AVAs, ","-joined  -> indices of the AVAs in new DERSet(ASN1Encodable[]) order
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERSet;

public class BcHarness {
    static String esc(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x20 && c < 0x7f && c != '\\') b.append(c);
            else b.append(String.format("\\u%04x", (int) c));
        }
        return b.toString();
    }

    static String value(byte[] der) throws Exception {
        ASN1Primitive p = ASN1Primitive.fromByteArray(der);
        String cls = p.getClass().getSimpleName();
        if (p instanceof DERBitString) return cls + " " + HexFormat.of().formatHex(((DERBitString) p).getBytes());
        if (p instanceof ASN1String) return cls + " " + esc(((ASN1String) p).getString());
        return cls + " NOT-A-STRING";
    }

    static String sort(String[] avas) throws Exception {
        ASN1Encodable[] in = new ASN1Encodable[avas.length];
        for (int i = 0; i < avas.length; i++) in[i] = ASN1Primitive.fromByteArray(HexFormat.of().parseHex(avas[i]));
        DERSet set = new DERSet(in);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < set.size(); i++) {
            for (int j = 0; j < in.length; j++) {
                if (set.getObjectAt(i) == in[j]) { if (b.length() > 0) b.append(','); b.append(j); break; }
            }
        }
        return b.toString();
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            String r;
            try {
                r = args[0].equals("sort") ? sort(line.split(",")) : value(HexFormat.of().parseHex(line));
            } catch (Exception e) {
                r = "ERROR " + e.getClass().getSimpleName();
            }
            out.append(r).append('\n');
        }
        System.out.print(out);
    }
}
