// go-mssqldb client for the tdsdiag capture lab.
//
// Build: tests/lab/drivers-deps (go build into tests/lab/go/bin, not committed).
// Usage: mssqldb-client -report FILE -dsn 'sqlserver://sa:PASSWORD@10.10.10.120:1433?encrypt=true'
//
//	[-query 'select 1']
//
// The DSN's options are go-mssqldb's own (encrypt, TrustServerCertificate, certificate,
// hostNameInCertificate, tlsmin, dial timeout, connection timeout, ...); what is not
// given is the driver's default. -report appends the capture's provenance lines
// `driver:`, `connection:` (the DSN with the password as ***) and `error:` (the
// driver's error text verbatim as the application sees it from db.Conn or the query, lines joined by " | ").
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	_ "github.com/microsoft/go-mssqldb"
)

func driverVersion() string {
	v := "?"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/microsoft/go-mssqldb" {
				v = d.Version
			}
		}
	}
	return fmt.Sprintf("go-mssqldb %s (%s, crypto/tls)", v, runtime.Version())
}

func oneLine(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}

func main() {
	dsn := flag.String("dsn", "", "go-mssqldb connection string (URL form)")
	query := flag.String("query", "select 1", "query after the login")
	report := flag.String("report", "", "append driver:/connection:/error: lines here")
	flag.Parse()

	shown := *dsn
	if u, err := url.Parse(*dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "PASSWORD")
			shown = strings.Replace(u.String(), ":PASSWORD@", ":***@", 1)
		}
	}
	fmt.Println("go-mssqldb:", shown)

	errText := ""
	db, err := sql.Open("sqlserver", *dsn)
	if err == nil {
		// one connection for the login and the query (database/sql would
		// otherwise open a second one after closing the first)
		ctx := context.Background()
		var conn *sql.Conn
		if conn, err = db.Conn(ctx); err == nil {
			var n int
			if err = conn.QueryRowContext(ctx, *query).Scan(&n); err == nil {
				fmt.Printf("go-mssqldb: connected, %s -> %d\n", *query, n)
			}
			conn.Close()
		}
		db.Close()
	}
	if err != nil {
		errText = oneLine(err.Error())
		fmt.Println("go-mssqldb: error:", errText)
	}
	if *report != "" {
		f, ferr := os.OpenFile(*report, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if ferr == nil {
			if errText == "" {
				errText = "(none, connected)"
			}
			fmt.Fprintf(f, "driver: %s\nconnection: %s\nerror: %s\n", driverVersion(), shown, errText)
			f.Close()
		}
	}
	if err != nil {
		os.Exit(2)
	}
}
