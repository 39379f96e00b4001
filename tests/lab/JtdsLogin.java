// jTDS client for the tdsdiag capture lab (jtds-login-only-tls-hang).
//
// Compiled with javac, run with jTDS (Debian libjtds-java) on the class path (tests/lab/scenarios.sh: jtds_client):
//   java -cp DIR:/usr/share/java/jtds.jar JtdsLogin URL USER PASSWORD [QUERY]
// Opens a connection through java.sql.DriverManager with the jTDS URL given (its properties after
// ';'), runs QUERY (default "select 1"), prints each step and the driver's own message verbatim if
// it fails, and closes. It sets no timeout of its own: a driver that hangs is stopped from outside
// (the lab's `timeout`), and the capture shows what it did until then.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public class JtdsLogin {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: JtdsLogin URL USER PASSWORD [QUERY]");
            System.exit(2);
        }
        Class.forName("net.sourceforge.jtds.jdbc.Driver");
        String query = args.length > 3 ? args[3] : "select 1";
        System.out.println("jtds: driver " + new net.sourceforge.jtds.jdbc.Driver().getMajorVersion() + "."
                + new net.sourceforge.jtds.jdbc.Driver().getMinorVersion() + ", Java "
                + System.getProperty("java.version"));
        System.out.println("jtds: connecting to " + args[0]);
        try (Connection c = DriverManager.getConnection(args[0], args[1], args[2])) {
            System.out.println("jtds: connected");
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(query)) {
                while (r.next()) System.out.println("jtds: row " + r.getString(1));
            }
            System.out.println("jtds: closing");
        } catch (SQLException e) {
            System.out.println("jtds: error: " + e.getMessage() + " (SQLState " + e.getSQLState() + ")");
            System.exit(1);
        }
    }
}
