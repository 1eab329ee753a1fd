// Test-time counterpart for test/core/identity/x509-name.test.ts: runs the JDK's own
// X500Principal.getName() and its charset decoders on inputs given as hex, one a line on stdin,
// and prints one line each (BcHarness.java does the same for BouncyCastle). Output strings are written as \\uXXXX escapes for every
// char outside printable ASCII, so no charset stands between Java and the test.
// Run: java DnHarness.java MODE
//   name     hex DER Name             -> getName() (RFC 2253)
//   utf8     hex bytes                -> new String(bytes, UTF_8)
//   utf16be  hex bytes                -> new String(bytes, UTF_16BE)
import javax.security.auth.x500.X500Principal;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

public class DnHarness {
    static String esc(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x20 && c < 0x7f && c != '\\') b.append(c);
            else b.append(String.format("\\u%04x", (int) c));
        }
        return b.toString();
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            String r;
            try {
                r = switch (mode) {
                    case "name" -> esc(new X500Principal(HexFormat.of().parseHex(line)).getName());
                    case "utf8" -> esc(new String(HexFormat.of().parseHex(line), StandardCharsets.UTF_8));
                    case "utf16be" -> esc(new String(HexFormat.of().parseHex(line), StandardCharsets.UTF_16BE));
                    default -> throw new IllegalArgumentException("mode " + mode);
                };
            } catch (Exception e) {
                r = "ERROR " + e.getClass().getSimpleName();
            }
            out.append(r).append('\n');
        }
        System.out.print(out);
    }
}
