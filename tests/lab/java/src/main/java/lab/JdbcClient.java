package lab;

import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * The lab's JDBC client (tests/lab/java): connects with the JDBC URL of its
 * first argument (Microsoft's driver for jdbc:sqlserver:, jTDS for jdbc:jtds:),
 * user "sa" and the password of $LAB_PASSWORD (given as properties, so that the
 * URL printed holds no password), runs one query when connected, and prints
 * for the capture's provenance file:
 *   driver: the driver's class and version, and the Java runtime (run's
 *           jdbc_client composes the provenance's driver line from it)
 *   error:  getMessage() of the exception the application gets, verbatim
 *           (lines joined with " | "), or "(none, connected)"
 * The exception's causes, SQL state and error code go to stderr, for the log.
 *
 *   java -cp target/classes:target/lib/*:/usr/share/java/jtds.jar lab.JdbcClient URL [QUERY]
 */
public final class JdbcClient {
    private JdbcClient() {}

    private static String oneLine(String s) {
        if (s == null) return "(null)";
        return String.join(" | ", s.strip().split("\\s*\\R\\s*"));
    }

    private static String driverLine(Driver d) {
        return d.getClass().getName() + " " + d.getMajorVersion() + "." + d.getMinorVersion()
            + " (" + System.getProperty("java.vm.name").replace(" 64-Bit Server VM", "") + " "
            + System.getProperty("java.version") + ")";
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: lab.JdbcClient URL [QUERY]");
            System.exit(2);
        }
        String url = args[0];
        String query = args.length > 1 ? args[1] : "select 1";
        Properties props = new Properties();
        props.setProperty("user", System.getenv().getOrDefault("LAB_USER", "sa"));
        props.setProperty("password", System.getenv().getOrDefault("LAB_PASSWORD", ""));
        try {
            // jTDS 1.3.1 registers itself only when its class is loaded (no
            // META-INF/services entry), as a JDBC 3 application does it
            if (url.startsWith("jdbc:jtds:")) Class.forName("net.sourceforge.jtds.jdbc.Driver");
            Driver d = DriverManager.getDriver(url);
            System.out.println("driver: " + driverLine(d));
        } catch (SQLException | ClassNotFoundException e) {
            System.out.println("driver: (no driver for the URL: " + oneLine(e.getMessage()) + ")");
            System.exit(2);
        }
        long t0 = System.nanoTime();
        try (Connection c = DriverManager.getConnection(url, props)) {
            System.err.printf("connected after %d ms%n", (System.nanoTime() - t0) / 1000000);
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(query)) {
                while (r.next()) System.err.println("row: " + r.getString(1));
            }
            System.out.println("error: (none, connected)");
        } catch (SQLException e) {
            System.err.printf("failed after %d ms%n", (System.nanoTime() - t0) / 1000000);
            System.out.println("error: " + oneLine(e.getMessage()));
            for (Throwable t = e; t != null; t = t.getCause()) {
                String extra = t instanceof SQLException
                    ? " (SQLState " + ((SQLException) t).getSQLState() + ", error " + ((SQLException) t).getErrorCode() + ")"
                    : "";
                System.err.println("  " + t.getClass().getName() + extra + ": " + oneLine(t.getMessage()));
            }
            System.exit(1);
        }
    }
}
