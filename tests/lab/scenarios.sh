# Scenarios of the tdsdiag capture lab, sourced by tests/lab/run.
#
# Each scenario is one entry "name|what the capture shows" in SCENARIOS and a
# function sc_<name with - turned into _>.  The function starts the server
# (`server FLAGS...`, see tests/lab/tds_server.py --help) and runs real
# clients (tsql_client, tedious_client, pytds_client).  It may set EXPECT
# (the expected steps and outcome, written into captures/NAME.txt)
# Clients run in parallel with `in_bg CLIENT ARGS` and `wait_clients`, NO_SERVER
# (why no server runs) and call `note` for lab setup worth recording
# (firewall rules...).  Client queries: TSQL_QUERY (default "select 1\ngo\n").
# `keylog` (before `server`) also writes captures/NAME.keys, the clients' TLS
# key log (NSS format; `keylog server`: the server's), for decrypting captures.

SCENARIOS=(
# ---- successful connections
"cleartext-login|tsql with encryption = off (prelogin 2), server ENCRYPT_NOT_SUP: Login7 in clear, select 1, FIN close by the client"
"login-only-tls|tsql with encryption = request (prelogin 0), server ENCRYPT_OFF: TLS 1.2 handshake inside prelogin packets, Login7 as the first TLS application data record, login response and batch in clear, FIN close by the client"
"full-tls-freetds|tsql with encryption = require (prelogin 1), server ENCRYPT_ON: TLS 1.2 handshake inside prelogin packets, then everything is TLS application data, FIN close by the client"
"full-tls-tedious|tedious with encrypt: true, trustServerCertificate: true, server ENCRYPT_ON: full TLS 1.2, tedious' SET batch then select 1, FIN close by the client"
"overlapping-connections|five connections started 0.2 s apart, whose lifetimes overlap (server delays each login response by 1.5 s): tsql cleartext, tsql login-only, tsql full, tedious full, pytds login-only; all log in and close with FIN"
"many-connections-mixed|26 connections in batches of overlapping clients (tsql in three encryption modes, tedious closing with FIN or RST); the server refuses every fifth login with 18456 state 8: mixed outcomes for the statistics"
"browser-lookup|tsql with 'instance = SQLEXPRESS' asks the SQL Browser (SSRP, UDP 1434) for the port, gets it, then logs in with login-only TLS"
"browser-unanswered|tsql with 'instance = SQLEXPRESS', no SQL Browser on the server: its UDP 1434 request gets ICMP port unreachable, tsql fails without any TCP connection"
"browser-slow|the SQL Browser answers tsql's instance request after 1.5 s, then a login-only TLS login succeeds"
# ---- TDS 8.0 (strict encryption) and TLS key logs
"strict-tls12-tedious|TDS 8.0: tedious with encrypt: 'strict' (ALPN tds/8.0, lab CA trusted), server --strict capped at TLS 1.2: the TLS 1.2 handshake starts right after the TCP handshake (bare TLS records, no TDS wrapping), then PRELOGIN, Login7, login response, tedious' SET batch and select 1 all inside TLS; FIN close by the client; key log in captures/strict-tls12-tedious.keys"
"strict-tls13-tedious|as strict-tls12-tedious with TLS 1.3 (server --strict, TLS 1.3 allowed): TLS 1.3 handshake right after the TCP handshake, then PRELOGIN, Login7, login response and batches inside TLS; FIN close by the client; key log in captures/strict-tls13-tedious.keys"
"strict-untrusted-cert|TDS 8.0: tedious with encrypt: 'strict' (which always verifies the certificate) against the server's self-signed certificate, trusting only the lab CA: TLS 1.3 ClientHello (ALPN tds/8.0) right after the TCP handshake; after the server's ServerHello/CCS/encrypted flight Node rejects the certificate (self-signed) and closes with FIN at once: no client Finished, no alert, no TDS at all (tedious: ESOCKET self-signed certificate); key log in captures/strict-untrusted-cert.keys (the certificate is encrypted in TLS 1.3)"
"strict-untrusted-cert-tls12|as strict-untrusted-cert with the server capped at TLS 1.2: the certificate is in clear in the server's flight; Node completes the handshake (ClientKeyExchange/CCS/Finished, then the server's NewSessionTicket/CCS/Finished), then rejects the certificate (self-signed) and closes with FIN: no alert, no TDS; key log in captures/strict-untrusted-cert-tls12.keys"
"full-tls-freetds-keylog|as full-tls-freetds (tsql encryption = require, server ENCRYPT_ON: TDS 7.x, TLS 1.2 handshake inside prelogin packets, then everything TLS application data, FIN close by the client) with tsql's TLS key log (GnuTLS SSLKEYLOGFILE) in captures/full-tls-freetds-keylog.keys"
"full-tls-tedious-keylog|as full-tls-tedious (tedious encrypt: true, TDS 7.x, full TLS 1.2, SET batch, select 1, FIN close by the client) with tedious' TLS key log (Node --tls-keylog) in captures/full-tls-tedious-keylog.keys"
"full-tls-login-failed-keylog|tsql encryption = require, server ENCRYPT_ON (TDS 7.x full TLS 1.2): the login response, as TLS application data, carries ERROR 18456 state 8 class 14 'Login failed for user 'sa'.'; tsql closes; key log in captures/full-tls-login-failed-keylog.keys so that a decrypting dissector sees the ERROR token"
# ---- TLS version and cipher failures
"tls-alert-protocol-version|tedious limited to TLS 1.0-1.1 (maxVersion TLSv1.1), server minimum TLS 1.2: the server answers the ClientHello with a fatal alert protocol_version (70) and closes"
"old-client-server-closes-after-hello|tedious limited to TLS 1.0-1.1, server minimum TLS 1.2 and no alert (like Schannel): the server closes with FIN right after the ClientHello"
"tls-alert-handshake-failure|tsql offers TLS 1.0-1.3 with GnuTLS' usual suites, server allows only CAMELLIA suites: the server answers the ClientHello with a fatal alert handshake_failure (40)"
"no-cipher-server-fin-after-hello|tsql offers TLS 1.2 with GnuTLS' suites, server allows only CAMELLIA suites and sends no alert: FIN from the server right after the ClientHello"
"no-cipher-server-rst-after-hello|as no-cipher-server-fin-after-hello, but the server resets (RST) right after the ClientHello"
"dhe-cipher-success|server allows only TLS_DHE_RSA suites: ServerHello selects a DHE suite, login-only TLS with tsql succeeds"
"dhe-server-fin-after-client-finished|DHE suite negotiated with tsql; after the client's ClientKeyExchange/ChangeCipherSpec/Finished the server closes with FIN without its own Finished (no alert)"
"dhe-server-rst-after-client-finished|as dhe-server-fin-after-client-finished, but the server resets (RST)"
"server-fin-after-client-finished|ECDHE suite (no DHE) with tsql; after the client's ClientKeyExchange/ChangeCipherSpec/Finished the server closes with FIN without its own Finished and without an alert"
"tls10-negotiated|server capped at TLS 1.0, tsql offers 1.0-1.3: TLS 1.0 negotiated, login-only TLS, login succeeds"
# ---- certificates
"cert-md5-accepted|server certificate (lab-CA signed) signed with md5WithRSAEncryption; tsql without a CA file accepts it; login-only TLS, login succeeds"
"cert-md5-rejected|same MD5-signed certificate; tsql with 'ca file' (GnuTLS verification) rejects it by closing with FIN right after the server's Certificate/ServerHelloDone, no alert"
"cert-sha1-accepted|server certificate signed with sha1WithRSAEncryption; tsql without a CA file accepts it, login succeeds"
"cert-sha1-rejected|same SHA-1-signed certificate; tsql with 'ca file' rejects it by closing with FIN after the server's flight, no alert"
"cert-sha512-accepted|server certificate signed with sha512WithRSAEncryption; tsql with 'ca file' verifies and accepts it, login succeeds"
"cert-self-signed-untrusted|self-signed server certificate; tedious with trustServerCertificate: false and the lab CA completes the TLS handshake, then rejects the certificate (self-signed) and closes with FIN before sending its Login7; no alert"
"cert-self-signed-untrusted-pytds|self-signed server certificate; pytds (pyOpenSSL) with the lab CA rejects it right after the server's Certificate/ServerHelloDone flight and closes with FIN; no alert (pytds does not flush OpenSSL's alert)"
"cert-expired|lab-CA signed server certificate that expired 30 days before the run; tsql with 'ca file' (GnuTLS) rejects it by closing with FIN right after the server's flight, no alert"
"cross-connection-md5-then-closed-after-hello|two connections to one server with an MD5-signed certificate: connection 1 (tsql) completes TLS and shows the MD5 certificate; connection 2 (tedious) gets a server FIN right after its ClientHello"
# ---- TCP
"syn-rst|nothing listens on 10.10.10.120:1433: the SYN is answered by RST (tsql)"
"syn-unanswered|the server namespace drops SYNs to 1433 (iptables): tsql's SYN is retransmitted, never answered, and tsql gives up after its connect timeout"
"slow-accept|the server namespace drops only the first SYN (iptables statistic nth): the retransmitted SYN is answered about 1 s later, then a normal cleartext login with tsql"
"server-rst-mid-session|tsql logs in (login-only TLS); the server answers its select 1 with a RST"
"client-rst-after-session|tedious (full TLS) logs in, runs select 1 and resets the connection (socket.resetAndDestroy) instead of closing"
# ---- prelogin / login
"prelogin-no-answer|the server never answers the PRELOGIN; tedious (connectTimeout 3000 ms) gives up and closes after 3 s"
"server-fin-during-prelogin|the server reads tsql's PRELOGIN and closes with FIN without answering"
"login-failed-18456-state8|tsql (login-only TLS) gets ERROR 18456 state 8 (password mismatch), class 14, 'Login failed for user 'sa'.' and closes"
"login-failed-18456-state5|tsql (cleartext) gets ERROR 18456 state 5 (invalid user), class 14, and closes"
"old-server-tls10-client-requires-tls12|the server plays SQL Server 2012 SP2 (prelogin VERSION 11.0.5058, a build without TLS 1.2) with TLS 1.0 at most; pytds (full TLS, pyOpenSSL on OpenSSL 3: TLS 1.2 at least) gets a TLS 1.0 ServerHello and refuses it"
"login-failed-4060|tsql (login-only TLS) gets ERROR 4060 state 1, class 11, 'Cannot open database \"sales\" requested by the login. The login failed.' and closes"
"login-failed-40613|pytds (no TLS) gets ERROR 40613 state 1, class 17, Azure SQL's 'Database ... is not currently available' and closes"
"slow-login|the server answers tsql's Login7 (login-only TLS) after 2.5 s; login succeeds"
"slow-network-loss|the server namespace drops the first five copies of tsql's cleartext Login7 (iptables u32 match on the TDS type 0x10 at the start of the TCP payload, with statistic nth): the client's kernel sends it again 0.2, 0.2, 0.4, 0.8 and 1.7 s apart, the sixth copy is answered at once; login succeeds about 3.3 s after the first Login7"
"login-response-timeout|the server never answers the Login7; tedious (connectTimeout 3000 ms, full TLS) gives up and closes"
"client-requires-encryption-server-not-sup|tsql with encryption = require (prelogin 1), server answers ENCRYPT_NOT_SUP: tsql closes right after the prelogin"
"server-requires-encryption-client-not-sup|pytds without TLS (prelogin 2, ENCRYPT_NOT_SUP), server answers ENCRYPT_REQ and closes with FIN; pytds gives up"
"server-requires-encryption-freetds-not-sup|tsql with encryption = off (prelogin 2), server answers ENCRYPT_REQ and closes with FIN; FreeTDS starts TLS anyway, its ClientHello meets the closed socket and the server's kernel answers RST"
# ---- odd but legal captures (capture side, addressing, link layer)
"one-sided-client-to-server|tsql login-only TLS login captured with the filter 'src host 10.10.10.10' on the client: only the client's packets (SYN, PRELOGIN, ClientHello, ClientKeyExchange/CCS/Finished, Login7, select 1, FIN and ACKs), nothing from the server"
"tds-nonstandard-port|the server listens on TCP port 14330 instead of 1433; tsql (port = 14330) logs in with login-only TLS, select 1, FIN close by the client"
"ipv6-login|tsql login-only TLS login over IPv6 (client fd00::10, server fd00::120 on the veth pair), select 1, FIN close by the client"
"vlan-tagged|tsql login-only TLS login whose frames carry an 802.1Q tag, VLAN 100, on the veth pair (tagged on egress and untagged on ingress by the kernel's VLAN helpers from tc programs, tests/lab/vlan_tc.c: this lab kernel has no 8021q module), captured on the client's eth0: every frame is Ethernet + 802.1Q + IPv4"
"linux-cooked-sll2|tsql login-only TLS login captured with dumpcap -i any -y LINUX_SLL2 in the client namespace: link type Linux cooked-mode capture v2 (SLL2)"
"login7-split-segments|the server advertises MSS 100 (route advmss 100, TSO/GSO off on both ends): tsql's cleartext Login7 spans several TCP segments, reassembled by Wireshark; cleartext login, select 1, FIN"
"snaplen-96|tsql login-only TLS login captured with dumpcap -s 96: every frame is cut to 96 bytes (headers and the first bytes of the TDS/TLS payload only)"
"port-exhaustion|pytds (one process, --repeat 400 --interval 0.008) opens cleartext logins one after the other, about a hundred a second (an application without connection pooling), each with select 1 and a FIN close by the client, from a client namespace whose ephemeral range holds 128 ports (ip_local_port_range 40000 40127; the client keeps each port in TIME_WAIT for 60 s): 128 connections in about 1.3 s, then connect() fails locally (EADDRNOTAVAIL, no SYN); the summary warns of the client's rate"
"zero-window-stall|pytds cleartext login, then select n answered by 40,000 rows (--result-rows, about 200 KB); the client namespace's receive buffers are small (net.ipv4.tcp_rmem 4096 8192 8192) and pytds reads the rows only 2 s after the column metadata (--read-delay 2): its receive window fills, it advertises a zero window and the server's kernel probes it until pytds reads on; FIN close by the client"
"port-reuse-two-connections|two successive tsql cleartext logins from the same client port (ip_local_port_range 40000 40000, tcp_tw_reuse 1 in the client namespace): the second SYN reuses the 4-tuple of the first, closed (client in TIME_WAIT) 1.5 s before; Wireshark gives them two tcp.stream numbers"
"port-reuse-syn-answered-by-ack|tedious (cleartext, encrypt: false) logs in from client port 50000 (ip_local_port_range 50000 50001 in the client namespace), runs select 1 and resets the connection (socket.resetAndDestroy: RST/ACK); an iptables rule in the server namespace drops that RST, so the server's kernel keeps the connection established; 0.8 s after that reset tsql (cleartext) connects from the same port 50000: the server's kernel answers its SYN with a bare ACK of the old connection (challenge ACK), the client's kernel answers that with a bare RST, which reaches the server and ends the old connection there, and sends its SYN again 11 ms later (Wireshark: the same tcp.stream, a retransmission), which is accepted: login, select 1, FIN"
"port-reuse-syn-answered-by-ack-fails|as port-reuse-syn-answered-by-ack, but the iptables rule in the server namespace drops every RST from the client (the bare ones too): the server's kernel keeps the old connection established; 0.9 s after the reset tsql (connect timeout = 5) sends its SYN from the same port 50000, answered by a bare ACK of the old connection (challenge ACK), which the client's kernel resets; its SYN sent again 11 ms later gets no answer (Linux sends at most one such ACK per 0.5 s on a connection, net.ipv4.tcp_invalid_ratelimit), the next four, 1 s apart, each get the same ACK and the client's RST; tsql gives up after 5 s without a connection (no SYN/ACK, nothing more on the wire)"
"port-reuse-server-time-wait-accepted|tsql (cleartext) from client port 50000 (ip_local_port_range 50000 50001 in the client namespace); the server closes first with FIN in answer to its select 1 (--fin-mid-session 1 on the first connection only), so the server's kernel holds the connection in TIME_WAIT; 0.8 s later a second tsql connects from the same port 50000: Linux accepts a SYN on a TIME_WAIT connection whose sequence number or timestamp is newer than the old connection's and answers SYN/ACK; login, select 1, FIN: not port_reuse"

# ---- MARS (issue 6)
"mars-session|pyodbc + FreeTDS ODBC (tdsodbc) with MARS_Connection=Yes, cleartext, server --mars: prelogin MARS 1 both ways; Login7 and login response bare TDS; then SMP: SYN for session 0 with the first batch, select 1 on session 0 left unfetched while select 2 opens session 1 (SYN), DATA answers on each SID; after the fetches the client's SMP FIN for session 1 goes out with select 3 on session 0, the server answers FIN on session 1; FreeTDS sends no SMP FIN for its last session (0): TCP FIN from the client"
"mars-session-login-only-tls|as mars-session with login-only TLS (FreeTDS encryption = request, server ENCRYPT_OFF): TLS 1.2 handshake inside prelogin packets, Login7 as TLS application data, login response and all SMP traffic in clear"

# ---- redirect, attention, browser (issue 6)
"redirect-followed|tedious (encrypt: false, cleartext) logs in to 10.10.10.120:1433, whose login response carries LOGINACK then an ENVCHANGE type 20 (routing: TCP, port 1433, server 10.10.10.121) then DONE; tedious closes that connection with FIN and opens a second one to 10.10.10.121:1433 (a second server, on a second address of the server namespace), logs in there, runs its SET batch and select 1, FIN close by the client"
"attention-cancel|tedious (encrypt: false, cleartext) runs waitfor delay '00:00:10', which the server does not answer, and cancels it 0.5 s later: attention packet (TDS type 0x06); 0.2 s later the server ends the batch with a DONE, then acknowledges with a DONE with DONE_ATTN (0x0020) (two response messages); tedious reports the request cancelled, runs select 1, FIN close by the client"
"attention-unacknowledged|as attention-cancel, but the server never answers the attention: tedious gives up after its cancelTimeout (2 s) and closes the connection with FIN (ETIMEOUT 'Failed to cancel request in 2000ms'); the server then closes too"
"browser-instance-missing|pytds asks the SQL Browser (SSRP CLNT_UCAST_EX, a single byte 0x03, UDP 1434) for the instance list to connect to instance OTHER; the answer (SVR_RESP 0x05) lists only SQLEXPRESS; pytds fails ('Instance OTHER not found') without any TCP connection"

# ---- Windows authentication (issue 6)
"ntlm-login|tsql -U 'LAB\\alice' (NTLM), encryption = request, server ENCRYPT_OFF --sspi ntlm: TLS 1.2 handshake inside prelogin packets, Login7 (fIntSecurity, SSPI = NTLMSSP NEGOTIATE) as TLS application data; in clear: the server's SSPI token (0xED) with the NTLMSSP CHALLENGE, the client's SSPI packet (0x11) with the NTLMSSP AUTHENTICATE (LAB\\alice, NTLMv2), the login response with LOGINACK, select 1, FIN close by the client"
"ntlm-login-failed-18452|as ntlm-login (tsql -U 'LAB\\alice', login-only TLS, NTLM CHALLENGE in 0xED, AUTHENTICATE in 0x11), but the server answers the AUTHENTICATE with ERROR 18452 state 1 class 14 'Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.' and DONE with the error bit; tsql closes"
"anonymous-logon|tsql -U '\\' -P '' (a lone backslash: NTLM with an empty domain and an empty user name), encryption = request, server ENCRYPT_OFF --sspi ntlm: Login7 (inside TLS) with an NTLMSSP NEGOTIATE, CHALLENGE in 0xED, then an NTLMSSP AUTHENTICATE in 0x11 whose domain and user name are empty (workstation and the NTLMv2 response are still there: FreeTDS computes them with the empty names and password; not the MS-NLMP anonymous form, which has empty responses and the Anonymous flag); the server answers ERROR 18456 state 1 class 14 'Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'.' (SQL Server's error for a logon that Windows maps to ANONYMOUS LOGON; the scripted server maps an empty NTLM user name to it) and DONE with the error bit; tsql closes"
"kerberos-login|tsql without -U (Kerberos: a TGT for alice@LAB.TEST from kinit before the capture; freetds.conf host = sql.lab.test, mutual authentication = yes), encryption = request, server ENCRYPT_OFF --sspi gssapi (python3-gssapi with the keytab of MSSQLSvc/sql.lab.test:1433) and an MIT KDC on the server (capture filter adds port 88): TLS 1.2 handshake inside prelogin packets; the client's TGS-REQ for MSSQLSvc/sql.lab.test:1433 and the KDC's TGS-REP (UDP 88); Login7 (fIntSecurity, SSPI = a raw GSS-API Kerberos 5 token with the AP-REQ, no SPNEGO) as TLS application data; in clear the login response starting with an SSPI token (0xED) holding the AP-REP (mutual authentication), then LOGINACK; select 1, FIN close by the client"
"ntlm-fallback|pytds with python3-gssapi (MIT SPNEGO offering Kerberos 5 and, through gss-ntlmssp, NTLMSSP; alice has a TGT from kinit before the capture and NTLM credentials LAB\\alice), cleartext (pytds without TLS, server ENCRYPT_NOT_SUP), server --sspi gssapi (MIT SPNEGO with NTLM but no Kerberos key: no keytab) and an MIT KDC (capture filter adds port 88): TGS-REQ/TGS-REP for MSSQLSvc/sql.lab.test; Login7 with a SPNEGO NegTokenInit listing Kerberos 5 and NTLMSSP, mechToken the Kerberos AP-REQ; the server's 0xED NegTokenResp (request-mic, supportedMech NTLMSSP, no token) rejects Kerberos; then 0x11 NegTokenResp (NTLMSSP NEGOTIATE), 0xED NegTokenResp (accept-incomplete, NTLMSSP CHALLENGE), 0x11 NegTokenResp (NTLMSSP AUTHENTICATE LAB\\alice + mechListMIC), login response with 0xED NegTokenResp (accept-completed, mechListMIC) then LOGINACK; select 1, FIN close by the client"
"kerberos-spn-missing|tsql without -U (Kerberos: a TGT for alice@LAB.TEST from kinit before the capture), freetds.conf host = sql2.lab.test (resolving to the server, but the MIT KDC knows only MSSQLSvc/sql.lab.test:1433), encryption = request, server ENCRYPT_OFF --sspi gssapi: prelogin and the TLS handshake; the client's TGS-REQ for MSSQLSvc/sql2.lab.test:1433 answered by KRB-ERROR KDC_ERR_S_PRINCIPAL_UNKNOWN (7) (UDP 88); tsql fails the login without sending a Login7"
"kerberos-preauth-failed|pytds with python3-gssapi (tests/lab/gssapi_client.py --user alice@LAB.TEST: the client gets its TGT itself at login time, with a wrong password, through MIT gss_acquire_cred_with_password), cleartext (server ENCRYPT_NOT_SUP), server --sspi gssapi and the MIT KDC, where alice requires pre-authentication (capture filter adds port 88): prelogin; the client's AS-REQ for krbtgt/LAB.TEST answered by KRB-ERROR KDC_ERR_PREAUTH_REQUIRED (25), its AS-REQ with PA-ENC-TIMESTAMP made from the wrong password answered by KDC_ERR_PREAUTH_FAILED (24) (UDP 88); the client closes without sending a Login7"
"kerberos-clock-skew|tsql without -U (Kerberos: a TGT for alice@LAB.TEST from kinit before the capture, at the real time; freetds.conf host = sql.lab.test) runs under faketime -f +1h (libfaketime: the client's clock one hour ahead of the KDC's), encryption = request, server ENCRYPT_OFF --sspi gssapi and the MIT KDC (capture filter adds port 88): prelogin and the TLS handshake; the client's TGS-REQ for MSSQLSvc/sql.lab.test:1433, whose authenticator is stamped an hour ahead, answered by KRB-ERROR KRB_AP_ERR_SKEW (37) with the KDC's time (UDP 88); tsql fails the login without sending a Login7"

# ---- issue 7
"syn-refused-same-isn|nothing listens on 10.10.10.120:1433; tests/lab/syn_retransmit_client.py (our script writing raw TCP segments, imitating Windows) sends one Windows-like SYN (TTL 128, window 64240, MSS 1460, WS 8, SACK permitted) and the very same SYN again (same source port, same initial sequence number) 0.5 s and 1 s after the first, as Windows does after a refusal; each is answered by RST/ACK from the server's kernel; Wireshark keeps the three pairs in one tcp.stream and marks the later SYNs as retransmissions"
"jtds-login-only-tls-hang|jTDS 1.3.1 (Debian libjtds-java) on Java 17, ssl=request (TDS 7.1 Login7, PRELOGIN ENCRYPTION 0), server ENCRYPT_OFF: TLS 1.2 handshake inside PRELOGIN packets, the Login7 as TLS application data; the server answers in clear, as SQL Server does after login-only encryption, with a TDS 7.1 login response (INFO tokens with 2-byte line numbers, LOGINACK 7.1, 9-byte DONE); jTDS reads that answer as TLS and hangs: it sends nothing more until the lab stops it (timeout, 8 s after the client started) and its kernel closes the socket with FIN; the server closes too"
"jtds-windows-auth-clear|jTDS 1.3.1 (Debian libjtds-java) on Java 17 with domain=LAB, useNTLMv2=true (NTLM) and its defaults (ssl=off, TDS 7.1): no PRELOGIN, its first packet is a TDS 7.1 Login7 in clear whose password field is empty and whose SSPI data is an NTLMSSP NEGOTIATE; server --login7-first --sspi ntlm: SSPI token 0xED with the CHALLENGE, the client's SSPI packet 0x11 with the AUTHENTICATE (LAB\\sa, NTLMv2), TDS 7.1 login response with LOGINACK, select 1, FIN close by the client"
"syn-refused-retried|nothing listens on 10.10.10.120:1433; tests/lab/retry_client.py (our script on the kernel's TCP, mimicking a Windows client) connects three times from the same source port, 0.5 s apart: three SYNs, each answered by RST/ACK from the server's kernel"
"cert-self-signed-md5-accepted|self-signed server certificate signed with md5WithRSAEncryption; tsql without a CA file (no verification) accepts it; login-only TLS 1.2, login, select 1, FIN close by the client"
"cert-self-signed-md5-rejected|same self-signed MD5 certificate; pytds (pyOpenSSL) with cafile = the lab CA (which did not sign it), login-only TLS, rejects it as self-signed (OpenSSL verify error 18 'self-signed certificate'; OpenSSL does not check the signature hash of a self-signed certificate) and closes with FIN right after the server's Certificate/ServerHelloDone flight, no alert"
"cleartext-login-windows-auth|tsql -U 'LAB\\alice' (NTLM) with encryption = off (prelogin 2), server ENCRYPT_NOT_SUP --sspi ntlm: no TLS at all; Login7 in clear with fIntSecurity and an NTLMSSP NEGOTIATE (no password field), SSPI token 0xED with the CHALLENGE, SSPI packet 0x11 with the AUTHENTICATE (LAB\\alice, NTLMv2), login response with LOGINACK, select 1, FIN close by the client"
"login-closed-early|tedious, full TLS 1.2 (server ENCRYPT_ON), whose Login7 the server never answers; the application gives up 30 ms after tedious sent the Login7 (client.js closeAfterLoginMs: conn.close()) and tedious closes with FIN: the Login7 as TLS application data is the client's last payload, its FIN follows about 30 ms later"
"named-instance-dynamic-port|a named instance on its dynamic port: the server listens on TCP 49177, pytds connects straight to 49177 (the port the SQL Browser gave before the capture; capture filter 'tcp port 49177', no UDP 1434): prelogin, login-only TLS 1.2 (pytds enc_login_only, lab CA), Login7 as TLS application data, login response in clear, then 'select @P1' with @P1 = 1 as an RPC request (sp_executesql) in clear, FIN close by the client"
"named-instance-dynamic-port-clear-login|the same port 49177; tsql with tds version = 7.0 sends no PRELOGIN: its first payload is a TDS 7.0 Login7 in clear (server --login7-first accepts it), then the login response with LOGINACK (TDS 7.0), select 1, FIN close by the client"

# ---- the path between client and server (issue 19): a router namespace
"middlebox-reset|a router namespace between client (10.10.10.10) and server (10.10.20.120), captured on the client: tsql (login-only TLS) logs in and runs select 1; then an nft rule in the router (forward chain: tcp dport 1433 reject with tcp reset) is added, and tsql's next batch, 2 s later, is answered by a RST the router makes in the server's name: TTL 64 where the server's packets, one hop away, arrive with 63"
"idle-reset|a router namespace with conntrack between client (10.10.10.10) and server (10.10.20.120), captured on the client: established TCP entries expire after 5 s (net.netfilter.nf_conntrack_tcp_timeout_established=5, nf_conntrack_tcp_loose=0) and the router rejects packets of no known connection (ct state invalid: reject with tcp reset); tsql (login-only TLS) logs in, runs select 1, stays idle 8 s, then its next batch is answered by the router's RST (TTL 64, not the server's 63); captures/idle-reset.args lowers tdsdiag.idle_timeout_s to 5"
"idle-dropped|as idle-reset, but the router drops packets of no known connection (ct state invalid drop, no reject): after 8 s idle tsql's next batch is sent again and again by the kernel (five retransmissions in 3.3 s) with no acknowledgement, until tsql is stopped (timeout) 12 s after its start; the capture ends 1 s later, before any FIN; captures/idle-dropped.args lowers tdsdiag.idle_timeout_s to 5"


# ---- Microsoft JDBC driver (mssql-jdbc) and jTDS (issue 27): tests/lab/java, lab.JdbcClient
"jdbc-self-signed-default|Microsoft JDBC Driver 13.2 (mssql-jdbc, Java 17) with its default settings (no encrypt or trustServerCertificate in the URL: encrypt=true, trustServerCertificate=false since 10.x) against a server with a self-signed certificate (SQL Server's default), ENCRYPT_OFF: PRELOGIN ENCRYPTION 1, TLS handshake inside PRELOGIN packets; the JVM's trust store does not know the certificate and the driver gives up without a TDS login"
"jdbc-full-tls|Microsoft JDBC Driver 13.2, encrypt=true;trustServerCertificate=true, server ENCRYPT_OFF: PRELOGIN ENCRYPTION 1 answered 1, full TLS 1.2 inside PRELOGIN packets, Login7, login response and select 1 as TLS application data; the driver closes the connection"
"jdbc-login-only-tls|Microsoft JDBC Driver 13.2, encrypt=false (PRELOGIN ENCRYPTION 0), server ENCRYPT_OFF: TLS 1.2 handshake inside PRELOGIN packets, only the Login7 as TLS application data, login response and select 1 in clear"
"jdbc-login-failed-state8|Microsoft JDBC Driver 13.2, encrypt=false (login-only TLS); the server answers the Login7 with ERROR 18456 state 8 class 14 'Login failed for user 'sa'.' and DONE with the error bit"
"jdbc-login-failed-state5|as jdbc-login-failed-state8 with ERROR 18456 state 5 (the scripted server's text is the same 'Login failed for user 'sa'.', as SQL Server's for every state)"
"jdbc-tls10-only|Microsoft JDBC Driver 13.2 on Java 17 (TLS 1.0 and 1.1 disabled in java.security), encrypt=true;trustServerCertificate=true, against a server limited to TLS 1.0 (--tls-min 1.0 --tls-max 1.0): ClientHello offering TLS 1.2 and 1.3 inside a PRELOGIN packet; the server's OpenSSL answers alert protocol_version"
"jdbc-strict|Microsoft JDBC Driver 13.2, encrypt=strict (TDS 8.0), trustStore = the lab CA, hostNameInCertificate=labsql.tdsdiag.test (the certificate's DNS name), against tds_server.py --strict with a CA-signed certificate: TLS 1.3 first (ALPN tds/8.0), then PRELOGIN, Login7 and select 1 inside TLS"
"jdbc-strict-ip-address|as jdbc-strict without hostNameInCertificate: the driver connects to 10.10.10.120 and checks that address against the certificate's names; the certificate carries it as an IP SAN, but the driver compares it with the DNS names only and rejects the certificate: after the server's encrypted TLS 1.3 flight the client sends Change Cipher Spec and an encrypted fatal alert certificate_unknown (46, visible with the key log), then the server closes"
"jdbc-name-mismatch|Microsoft JDBC Driver 13.2, encrypt=true with trustStore = the lab CA, connecting to 10.10.10.120; the server's CA-signed certificate names labsql.tdsdiag.test and the IP 10.10.10.121 only (not the address the driver used): the chain is trusted, the name check fails"
"jdbc-no-common-cipher|Microsoft JDBC Driver 13.2 (Java 17), encrypt=true;trustServerCertificate=true, against a server offering only Camellia suites (CAMELLIA256-SHA:CAMELLIA128-SHA), which Java does not implement: the server's OpenSSL answers the ClientHello with alert handshake_failure"
"jdbc-reset-after-clienthello|Microsoft JDBC Driver 13.2, encrypt=true;trustServerCertificate=true; the server resets the connection (RST) right after the ClientHello"
"jdbc-login-timeout|Microsoft JDBC Driver 13.2, encrypt=false;loginTimeout=3;socketTimeout=3000 (login-only TLS); the server never answers the Login7 (--login-no-answer): the driver gives up after about 3 s and closes"
"jdbc-login-timeout-ignored|Microsoft JDBC Driver 13.2.1, encrypt=false;loginTimeout=3 without socketTimeout (login-only TLS); the server never answers the Login7: the driver does not give up after 3 s (13.2.1 leaves the socket without a read timeout during the login when socketTimeout is 0, mssql-jdbc issue 2925); the server closes after 15 s (--no-answer-limit 15), then the driver"
"jdbc-cleartext|Microsoft JDBC Driver 13.2, encrypt=false (PRELOGIN ENCRYPTION 0) against a server without a certificate (ENCRYPT_NOT_SUP): no TLS at all, Login7 with the password in clear, select 1"
"jtds-cleartext|jTDS 1.3.1 (Debian libjtds-java, Java 17) with its defaults (ssl=off, TDS 7.1): no PRELOGIN at all, its first packet is the Login7 (TDS 7.1) with the password in clear; the server accepts it (--login7-first, as SQL Server does without Force Encryption) and answers with a TDS 7.1 login response; select 1"
"jtds-full-tls|jTDS 1.3.1, ssl=require (PRELOGIN ENCRYPTION 1, no certificate check; its TLS records ride in PRELOGIN packets whose 8-byte header is a TCP segment of its own), server ENCRYPT_OFF: full TLS inside PRELOGIN packets, Login7, login response and select 1 as TLS application data"
"jtds-login-failed-state8|jTDS 1.3.1 with its defaults (cleartext, Login7 first without PRELOGIN, server --login7-first); the server answers the Login7 with ERROR 18456 state 8 class 14 and DONE with the error bit"
"jtds-login-failed-state5|as jtds-login-failed-state8 with ERROR 18456 state 5"
"jtds-self-signed-authenticate|jTDS 1.3.1, ssl=authenticate (PRELOGIN ENCRYPTION 1, certificate checked against the JVM's trust store) against a server with a self-signed certificate: the handshake fails in the client"
"jtds-tls10-only|jTDS 1.3.1 on Java 17, ssl=require, against a server limited to TLS 1.0: the server's OpenSSL answers the ClientHello with alert protocol_version"
"jtds-no-common-cipher|jTDS 1.3.1 on Java 17, ssl=require, against a server offering only Camellia suites: the server's OpenSSL answers alert handshake_failure"
"jtds-reset-after-clienthello|jTDS 1.3.1, ssl=require; the server resets the connection (RST) right after the ClientHello"
"jtds-login-timeout|jTDS 1.3.1 with its defaults (cleartext, Login7 first without PRELOGIN, server --login7-first), loginTimeout=3; the server never answers the Login7: the driver gives up after its login timeout"
"jtds-name-mismatch|jTDS 1.3.1, ssl=authenticate with the JVM's trust store = the lab CA (javax.net.ssl.trustStore), connecting to 10.10.10.120; the server's CA-signed certificate names labsql.tdsdiag.test and the IP 10.10.10.121 only: jTDS checks the chain but not the names, and logs in (full TLS)"
"jtds-server-requires-encryption|jTDS 1.3.1 with its defaults (ssl=off: no PRELOGIN, a TDS 7.1 Login7 in clear as its first packet) against a server that requires a PRELOGIN (--encryption req without --login7-first, as SQL Server with Force Encryption): the server closes with FIN right after the Login7, without an answer"
)

# ---------------------------------------------------------------------------
sc_cleartext_login() {
    EXPECT="steps 1,2,4,5,6,7; encryption none; outcome connected; diagnosis cleartext_login; close by client FIN"
    server --encryption not_sup
    tsql_client off
}

sc_login_only_tls() {
    EXPECT="steps 1-7; encryption login_only (TLS 1.2, ECDHE); outcome connected; close by client FIN"
    server --encryption off
    tsql_client request
}

sc_full_tls_freetds() {
    EXPECT="steps 1-7; encryption full (TLS 1.2); steps 4-6 seen only as TLS application data; outcome connected; close by client FIN"
    server --encryption on
    tsql_client require
}

sc_full_tls_tedious() {
    EXPECT="steps 1-7; encryption full (TLS 1.2); outcome connected; close by client FIN"
    server --encryption on
    tedious_client '{"encrypt": true, "trustServerCertificate": true, "query": "select 1"}'
}

sc_overlapping_connections() {
    EXPECT="5 connections, each steps 1-7 and outcome connected; encryption none, login_only, full, full, login_only; slow_login does not fire (1.5 s < 2 s)"
    server --encryption off --login-delay 1.5 --ca-signed
    in_bg tsql_client off; sleep 0.2
    in_bg tsql_client request; sleep 0.2
    in_bg tsql_client require; sleep 0.2
    in_bg tedious_client '{"encrypt": true, "trustServerCertificate": true}'; sleep 0.2
    in_bg pytds_client --cafile "$T/ca.pem" --no-validate-host --login-only
    wait_clients
}

sc_many_connections_mixed() {
    EXPECT="26 connections: 21 connected, 5 login_failed (connections 5, 10, 15, 20, 25 by the server's count); encryption none, login_only and full; tedious closes some with RST (client_reset)"
    server --encryption off --login-error 18456 --error-state 8 --fail-conns 5,10,15,20,25
    local batch i
    for batch in 0 1 2 3 4; do
        for i in 1 2 3 4 5; do
            case $(((batch * 5 + i) % 5)) in
                1) in_bg tsql_client off ;;
                2) in_bg tsql_client request ;;
                3) in_bg tsql_client require ;;
                4) in_bg tedious_client '{"encrypt": true, "trustServerCertificate": true}' ;;
                0) in_bg tedious_client '{"encrypt": false, "close": "reset"}' ;;
            esac
            sleep 0.15
        done
        wait_clients
    done
    tsql_client request
}

# ---- TDS 8.0 (strict) and key logs -------------------------------------------
# tedious' strict mode ignores trustServerCertificate and verifies the
# certificate against `ca` (with the IP address: no SNI, the IP SAN checked)
strict_tedious() {  # extra JSON members, e.g. '"maxVersion": "TLSv1.2"'
    tedious_client "{\"encrypt\": \"strict\", \"ca\": \"$T/ca.pem\"${1:+, $1}}"
}

sc_strict_tls12_tedious() {
    EXPECT="TDS 8.0; steps in order 1,3,2,4,5,6,7 (TLS first, bare records, ClientHello with ALPN tds/8.0; PRELOGIN and all later TDS inside TLS); encryption strict (TLS 1.2, ECDHE); outcome connected when decrypted (without the key log: TLS application data only); close by client FIN"
    keylog
    server --strict --tls-max 1.2 --ca-signed
    strict_tedious
}

sc_strict_tls13_tedious() {
    EXPECT="TDS 8.0; steps in order 1,3,2,4,5,6,7 (TLS 1.3 ClientHello with ALPN tds/8.0 right after the TCP handshake; server certificate encrypted, not visible without the key log); encryption strict (TLS 1.3); outcome connected when decrypted; close by client FIN"
    keylog
    server --strict --tls-max 1.3 --ca-signed
    strict_tedious
}

sc_strict_untrusted_cert() {
    EXPECT="TDS 8.0; steps 1,3,7: ClientHello with ALPN tds/8.0, the server's TLS 1.3 flight, then client FIN without its Finished and without an alert, no TDS; certificate encrypted (TLS 1.3): self-signed only visible with the key log; diagnosis certificate_rejected (likely: the client ends the handshake right after the server's flight); outcome failed"
    keylog
    server --strict --self-signed
    strict_tedious
}

sc_strict_untrusted_cert_tls12() {
    EXPECT="TDS 8.0; steps 1,3,7: ClientHello with ALPN tds/8.0, TLS 1.2 handshake completes (both Finished), then client FIN without application data and without an alert; certificate self-signed (visible); diagnosis certificate_rejected (self-signed); outcome failed"
    keylog
    server --strict --tls-max 1.2 --self-signed
    strict_tedious
}

sc_full_tls_freetds_keylog() {
    EXPECT="steps 1-7; encryption full (TLS 1.2); steps 4-6 are TLS application data (decryptable with the key log); outcome connected; close by client FIN"
    keylog
    server --encryption on
    tsql_client require
}

sc_full_tls_tedious_keylog() {
    EXPECT="steps 1-7; encryption full (TLS 1.2); outcome connected; close by client FIN; application data decryptable with the key log"
    keylog
    server --encryption on
    tedious_client '{"encrypt": true, "trustServerCertificate": true, "query": "select 1"}'
}

sc_full_tls_login_failed_keylog() {
    EXPECT="steps 1-5,7; encryption full (TLS 1.2); the login response is TLS application data: with the key log, ERROR 18456 state 8 class 14 (diagnosis login_failed, outcome login_failed); without it, outcome cannot be read from the packets"
    keylog
    server --encryption on --login-error 18456 --error-state 8
    tsql_client require
}

# ---- SQL Browser --------------------------------------------------------------
sc_browser_lookup() {
    EXPECT="step 0 (SSRP request and answer), then steps 1-7 with login-only TLS; outcome connected"
    server --encryption off --browser
    tsql_client request "instance = SQLEXPRESS"
}

sc_browser_unanswered() {
    EXPECT="step 0 only: SSRP request answered by ICMP port unreachable; no TCP; diagnosis browser_unanswered"
    server --encryption off
    tsql_client request "instance = SQLEXPRESS"
}

sc_browser_slow() {
    EXPECT="step 0 with the SSRP answer 1.5 s after the request, then steps 1-7; diagnosis browser_slow; outcome connected"
    server --encryption off --browser --browser-delay 1.5
    tsql_client request "instance = SQLEXPRESS"
}

# ---- TLS version / cipher ---------------------------------------------------
OLD_TEDIOUS='{"encrypt": true, "trustServerCertificate": true, "minVersion": "TLSv1", "maxVersion": "TLSv1.1", "ciphers": "DEFAULT@SECLEVEL=0"}'

sc_tls_alert_protocol_version() {
    EXPECT="steps 1,2,3,7; ClientHello max TLS 1.1; server alert protocol_version (70); diagnosis no_common_tls_version + tls_alert; outcome failed"
    server --encryption on --tls-min 1.2
    tedious_client "$OLD_TEDIOUS"
}

sc_old_client_server_closes_after_hello() {
    EXPECT="steps 1,2,3,7; ClientHello max TLS 1.1; server FIN right after it, no alert; diagnosis no_common_tls_version (likely) + server_first_fin; outcome failed"
    server --encryption on --tls-min 1.2 --on-handshake-error fin
    tedious_client "$OLD_TEDIOUS"
}

NOCIPHER='CAMELLIA256-SHA:CAMELLIA128-SHA'

sc_tls_alert_handshake_failure() {
    EXPECT="steps 1,2,3,7; server alert handshake_failure (40) after the ClientHello; diagnosis no_common_cipher + tls_alert; outcome failed"
    server --encryption off --ciphers "$NOCIPHER"
    tsql_client request
}

sc_no_cipher_server_fin_after_hello() {
    EXPECT="steps 1,2,3,7; server FIN right after a ClientHello offering TLS 1.2, no alert; diagnosis no_common_cipher (likely) + server_first_fin; outcome failed"
    server --encryption off --ciphers "$NOCIPHER" --on-handshake-error fin
    tsql_client request
}

sc_no_cipher_server_rst_after_hello() {
    EXPECT="steps 1,2,3,7; server RST right after a ClientHello offering TLS 1.2; diagnosis no_common_cipher (likely) + server_reset; outcome failed"
    server --encryption off --ciphers "$NOCIPHER" --on-handshake-error rst
    tsql_client request
}

DHE='DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256'

sc_dhe_cipher_success() {
    EXPECT="steps 1-7; ServerHello selects TLS_DHE_RSA_*; diagnosis dhe_cipher; outcome connected"
    server --encryption off --ciphers "$DHE"
    tsql_client request
}

sc_dhe_server_fin_after_client_finished() {
    EXPECT="steps 1,2,3,7; DHE suite; client sends ClientKeyExchange/CCS/Finished; server FIN without its Finished; diagnosis dhe_handshake_failure + dhe_cipher + server_first_fin; outcome failed"
    server --encryption off --ciphers "$DHE" --close-after-client-finished fin
    tsql_client request
}

sc_dhe_server_rst_after_client_finished() {
    EXPECT="steps 1,2,3,7; DHE suite; server RST after the client's Finished; diagnosis dhe_handshake_failure + dhe_cipher + server_reset; outcome failed"
    server --encryption off --ciphers "$DHE" --close-after-client-finished rst
    tsql_client request
}

sc_server_fin_after_client_finished() {
    EXPECT="steps 1,2,3,7; ECDHE suite; server FIN after the client's Finished, without its own; no DHE, no alert, no certificate problem: diagnosis tls_handshake_incomplete + server_first_fin; outcome failed"
    server --encryption off --close-after-client-finished fin
    tsql_client request
}

sc_tls10_negotiated() {
    EXPECT="steps 1-7; ServerHello TLS 1.0; diagnosis old_tls_version; outcome connected"
    server --encryption off --tls-max 1.0
    tsql_client request
}

# ---- certificates ------------------------------------------------------------
tsql_with_ca() {  # ENCRYPTION: tsql that verifies the server certificate against the lab CA
    tsql_client "$1" "ca file = $T/ca.pem" "check certificate hostname = no"
}

sc_cert_md5_accepted() {
    EXPECT="steps 1-7; certificate signature md5WithRSAEncryption; diagnosis weak_cert_hash (warning); outcome connected"
    server --encryption off --ca-signed --cert-hash md5
    tsql_client request
}

sc_cert_md5_rejected() {
    EXPECT="steps 1,2,3,7; MD5 certificate; client FIN after the server's Certificate flight, no alert; diagnosis weak_cert_hash (error) / certificate_rejected; outcome failed"
    server --encryption off --ca-signed --cert-hash md5
    tsql_with_ca request
}

sc_cert_sha1_accepted() {
    EXPECT="steps 1-7; certificate signature sha1WithRSAEncryption; diagnosis weak_cert_hash (warning); outcome connected"
    server --encryption off --ca-signed --cert-hash sha1
    tsql_client request
}

sc_cert_sha1_rejected() {
    EXPECT="steps 1,2,3,7; SHA-1 certificate; client FIN after the server's flight, no alert; diagnosis weak_cert_hash (error) / certificate_rejected; outcome failed"
    server --encryption off --ca-signed --cert-hash sha1
    tsql_with_ca request
}

sc_cert_sha512_accepted() {
    EXPECT="steps 1-7; certificate signature sha512WithRSAEncryption; diagnosis weak_cert_hash (warning: SQL Server's Schannel may reject it); outcome connected"
    server --encryption off --ca-signed --cert-hash sha512
    tsql_with_ca request
}

sc_cert_self_signed_untrusted() {
    EXPECT="steps 1,2,3,7; self-signed certificate; TLS handshake completes (both Finished), then the client FIN without application data; diagnosis certificate_rejected (self-signed); outcome failed"
    server --encryption on --self-signed
    tedious_client "{\"encrypt\": true, \"trustServerCertificate\": false, \"ca\": \"$T/ca.pem\"}"
}

sc_cert_self_signed_untrusted_pytds() {
    EXPECT="steps 1,2,3,7; self-signed certificate; client FIN right after the server's Certificate flight, no alert; diagnosis certificate_rejected (self-signed); outcome failed"
    server --encryption on --self-signed
    pytds_client --cafile "$T/ca.pem" --no-validate-host
}

sc_cert_expired() {
    EXPECT="steps 1,2,3,7; certificate notAfter 30 days before the capture; client FIN right after the server's flight, no alert; diagnosis certificate_rejected (expired); outcome failed"
    server --encryption off --ca-signed --cert-expired
    tsql_with_ca request
}

sc_cross_connection_md5_then_closed_after_hello() {
    EXPECT="connection 1: steps 1-7, MD5 certificate, connected; connection 2: steps 1,2,3,7, server FIN after the ClientHello; diagnosis on connection 2: weak_cert_hash (evidence from connection 1) rather than no_common_cipher"
    server --encryption on --ca-signed --cert-hash md5 --fail-conns 2- --close-after-clienthello fin
    tsql_client require
    sleep 0.5
    tedious_client '{"encrypt": true, "trustServerCertificate": true}'
}

# ---- TCP ---------------------------------------------------------------------
sc_syn_rst() {
    EXPECT="step 1 only: SYN answered by RST/ACK; diagnosis syn_rejected; outcome failed"
    NO_SERVER="nothing listens on $SERVER_IP:$PORT"
    tsql_client off
}

sc_syn_unanswered() {
    EXPECT="step 1 only: SYN and its retransmissions (this kernel: 1 s apart four times, then 2 s: net.ipv4.tcp_syn_linear_timeouts), never answered; tsql gives up after its connect timeout (8 s) without sending anything more; diagnosis syn_unanswered; outcome failed"
    in_server iptables -A INPUT -p tcp --dport "$PORT" --syn -j DROP || die "iptables failed"
    note "iptables -A INPUT -p tcp --dport $PORT --syn -j DROP in the server namespace"
    server --encryption off
    tsql_client off "connect timeout = 8"
}

sc_slow_accept() {
    EXPECT="step 1: first SYN unanswered, retransmission after about 1 s answered by SYN/ACK; then steps 2,4,5,6,7 in clear; diagnosis slow_accept + cleartext_login; outcome connected"
    in_server iptables -A INPUT -p tcp --dport "$PORT" --syn -m statistic --mode nth --every 1000 --packet 0 -j DROP \
        || die "iptables statistic failed"
    note "iptables -A INPUT -p tcp --dport $PORT --syn -m statistic --mode nth --every 1000 --packet 0 -j DROP in the server namespace (drops the first SYN only)"
    server --encryption not_sup
    tsql_client off
}

sc_server_rst_mid_session() {
    EXPECT="steps 1-6 then 7 by server RST in answer to the first SQL batch; login-only TLS; diagnosis server_reset; outcome connected"
    server --encryption off --rst-mid-session 1
    tsql_client request
}

sc_client_rst_after_session() {
    EXPECT="steps 1-7; full TLS; the client ends with RST instead of FIN; diagnosis client_reset; outcome connected"
    server --encryption on
    tedious_client '{"encrypt": true, "trustServerCertificate": true, "close": "reset"}'
}

# ---- prelogin / login --------------------------------------------------------
sc_prelogin_no_answer() {
    EXPECT="steps 1,2,7: PRELOGIN sent, never answered; the client closes after 3 s; diagnosis login_timeout (step 2 unanswered); outcome failed"
    server --encryption on --prelogin no-answer
    tedious_client '{"encrypt": true, "trustServerCertificate": true, "connectTimeout": 3000}'
}

sc_server_fin_during_prelogin() {
    EXPECT="steps 1,2,7: the server closes with FIN after the PRELOGIN request, no response; diagnosis server_first_fin; outcome failed"
    server --encryption off --prelogin fin
    tsql_client request
}

sc_login_failed_18456_state8() {
    EXPECT="steps 1-5,7; login-only TLS; ERROR 18456 state 8 class 14 in the login response; diagnosis login_failed; outcome login_failed"
    server --encryption off --login-error 18456 --error-state 8
    tsql_client request
}

sc_login_failed_18456_state5() {
    EXPECT="steps 1,2,4,5,7; cleartext; ERROR 18456 state 5 class 14; diagnosis login_failed + cleartext_login; outcome login_failed"
    server --encryption not_sup --login-error 18456 --error-state 5
    tsql_client off
}

sc_old_server_tls10_client_requires_tls12() {
    EXPECT="steps 1,2,3,7; ServerHello TLS 1.0, client alert 70; diagnosis no_common_tls_version naming SQL Server 2012 (11.0.5058) as a build without TLS 1.2, tls_alert, old_tls_version; outcome failed"
    server --encryption on --tls-max 1.0 --server-version 11.0.5058
    pytds_client --cafile "$T/ca.pem" --no-validate-host
}

sc_login_failed_4060() {
    EXPECT="steps 1-5,7; login-only TLS; ERROR 4060 state 1 class 11; diagnosis login_failed (its meaning and fix); outcome login_failed"
    server --encryption off --login-error 4060 --error-state 1 --error-class 11 \
        --login-error-message 'Cannot open database "sales" requested by the login. The login failed.'
    tsql_client request
}

sc_login_failed_40613() {
    EXPECT="steps 1,2,4,5,7; cleartext; ERROR 40613 state 1 class 17; diagnosis login_failed (its meaning and fix) + cleartext_login; outcome login_failed"
    server --encryption not_sup --login-error 40613 --error-state 1 --error-class 17 \
        --login-error-message "Database 'sales' on server 'lab' is not currently available.  Please retry the connection later.  If the problem persists, contact customer support, and provide them the session tracing ID of '00000000-0000-0000-0000-000000000000'."
    pytds_client
}

sc_slow_login() {
    EXPECT="steps 1-7; login-only TLS; login response 2.5 s after the Login7; diagnosis slow_login; outcome connected"
    server --encryption off --login-delay 2.5
    tsql_client request
}

sc_slow_network_loss() {
    EXPECT="steps 1,2,4,5,6,7 in clear; the Login7 retransmitted five times, the login response about 3.3 s after the first copy; diagnoses cleartext_login, slow_login and slow_network (5 retransmissions, about 3.3 s lost); outcome connected"
    # The first byte of the TCP payload (IP header length, then the TCP data offset) is the TDS type:
    # 0x10 is a Login7. Each rule drops the first packet that reaches it: five rules, five copies
    # (four made the login only 1.7 s long, under the slow_login threshold).
    local u32='0>>22&0x3C@12>>26&0x3C@0>>24=0x10' i
    for i in 1 2 3 4 5; do
        in_server iptables -A INPUT -p tcp --dport "$PORT" -m u32 --u32 "$u32" -m statistic --mode nth --every 1000000 --packet 0 -j DROP \
            || die "iptables u32 failed"
    done
    note "5x iptables -A INPUT -p tcp --dport $PORT -m u32 --u32 '$u32' -m statistic --mode nth --every 1000000 --packet 0 -j DROP in the server namespace (drops the first five copies of the Login7)"
    server --encryption not_sup
    tsql_client off
}

sc_login_response_timeout() {
    EXPECT="steps 1-4,7: full TLS, Login7 sent as application data, never answered; the client closes after about 3 s; diagnosis login_timeout (step 5 unanswered); outcome failed"
    server --encryption on --login-no-answer
    tedious_client '{"encrypt": true, "trustServerCertificate": true, "connectTimeout": 3000}'
}

sc_client_requires_encryption_server_not_sup() {
    EXPECT="steps 1,2,7: prelogin ENCRYPTION 1 from the client, 2 (NOT_SUP) from the server; the client closes; diagnosis encryption_not_supported; outcome failed"
    server --encryption not_sup
    tsql_client require
}

sc_server_requires_encryption_client_not_sup() {
    EXPECT="steps 1,2,7: prelogin ENCRYPTION 2 (NOT_SUP) from the client, 3 (REQ) from the server; the server closes with FIN; diagnosis encryption_not_supported; outcome failed"
    server --encryption req
    pytds_client
}

sc_server_requires_encryption_freetds_not_sup() {
    EXPECT="steps 1,2,(3),7: prelogin ENCRYPTION 2 (NOT_SUP) from the client, 3 (REQ) from the server, server FIN, then a ClientHello from FreeTDS answered by RST from the server's kernel; diagnosis encryption_not_supported; outcome failed"
    server --encryption req
    tsql_client off
}

# ---- odd but legal captures ----------------------------------------------------
# setup_<name> (optional) runs before the capture starts; it may reconfigure the
# namespaces and set SERVER_IP, CLIENT_IP, PORT, CAP_IFACE, CAP_FILTER, CAP_SNAPLEN.
setup_one_sided_client_to_server() {
    CAP_FILTER="src host $CLIENT_IP and dst host $SERVER_IP and tcp port $PORT"
}
sc_one_sided_client_to_server() {
    EXPECT="client-to-server packets only: SYN, PRELOGIN request, ClientHello, ClientKeyExchange/CCS/Finished, Login7 (TLS application data), select 1, FIN and the client's ACKs; no server packet at all, so no PRELOGIN response, ServerHello or login response: steps 1,2,3,4 (client side) and 7 at best; outcome unknown (not failed: the server's side is missing from the capture, not from the wire)"
    server --encryption off
    tsql_client request
}

setup_tds_nonstandard_port() {
    PORT=14330
}
sc_tds_nonstandard_port() {
    EXPECT="steps 1-7 as login-only-tls, on TCP port 14330 (Wireshark 4.0 does not decode port 14330 as TDS by default: a TDS heuristic or -d tcp.port==14330,tds is needed); encryption login_only (TLS 1.2); outcome connected; close by client FIN"
    server --encryption off
    tsql_client request
}

setup_ipv6_login() {
    in_client ip -6 addr add fd00::10/64 dev eth0 nodad || return 1
    in_server ip -6 addr add fd00::120/64 dev eth0 nodad || return 1
    note "IPv6 fd00::10/64 (client) and fd00::120/64 (server) on the veth pair, nodad"
    CLIENT_IP=fd00::10; SERVER_IP=fd00::120
    CAP_FILTER="host $SERVER_IP and tcp port $PORT"   # no neighbour discovery: the capture starts with the SYN
}
sc_ipv6_login() {
    EXPECT="steps 1-7 as login-only-tls, over IPv6; encryption login_only (TLS 1.2); outcome connected; close by client FIN"
    server --encryption off
    tsql_client request
}

setup_vlan_tagged() {
    # The brief's way (ip link add link eth0 name eth0.100 type vlan id 100)
    # needs the 8021q module, which this lab kernel lacks ("Unknown device
    # type"), and tc's act_vlan is missing too: the kernel's VLAN helpers,
    # called from two tiny tc programs (vlan_tc.c, cls_bpf direct action), tag
    # every frame leaving either end of the veth pair and untag it on arrival.
    command -v clang >/dev/null || { echo "vlan-tagged: clang missing (apt-get install clang)" >&2; return 1; }
    clang -O2 -target bpf -c "$LAB/vlan_tc.c" -o "$T/vlan_tc.o" || return 1
    local ns
    for ns in "$NSC" "$NSS"; do
        ip netns exec "$ns" tc qdisc add dev eth0 clsact || return 1
        ip netns exec "$ns" tc filter add dev eth0 egress bpf da obj "$T/vlan_tc.o" sec tc_push || return 1
        ip netns exec "$ns" tc filter add dev eth0 ingress bpf da obj "$T/vlan_tc.o" sec tc_pop || return 1
    done
    note "both ends of the veth pair: tc qdisc clsact + cls_bpf direct-action programs of tests/lab/vlan_tc.c (bpf_skb_vlan_push VLAN 100 on egress, bpf_skb_vlan_pop on ingress, no 8021q module in the lab kernel)"
    CAP_FILTER="vlan 100 and host $SERVER_IP and tcp port $PORT"
}
sc_vlan_tagged() {
    EXPECT="steps 1-7 as login-only-tls, every frame 802.1Q tagged (VLAN 100); encryption login_only (TLS 1.2); outcome connected; close by client FIN"
    server --encryption off
    tsql_client request
}

setup_linux_cooked_sll2() {
    CAP_IFACE=any
    CAP_LINKTYPE=LINUX_SLL2   # dumpcap 4.0 picks LINUX_SLL (v1) for 'any' unless told
}
sc_linux_cooked_sll2() {
    EXPECT="steps 1-7 as login-only-tls, link layer Linux cooked-mode capture v2 (SLL2); encryption login_only (TLS 1.2); outcome connected; close by client FIN"
    server --encryption off
    tsql_client request
}

setup_login7_split_segments() {
    local ns
    for ns in "$NSC" "$NSS"; do
        ip netns exec "$ns" ethtool -K eth0 tso off gso off >/dev/null 2>&1 || return 1
    done
    ip -n "$NSS" route change 10.10.10.0/24 dev eth0 advmss 100 || return 1
    note "server namespace: ip route change 10.10.10.0/24 dev eth0 advmss 100 (SYN/ACK MSS 100); ethtool -K eth0 tso off gso off on both ends"
}
sc_login7_split_segments() {
    EXPECT="steps 1,2,4,5,6,7 as cleartext-login; the client's segments carry at most 100 bytes (server MSS 100): the Login7 is reassembled from several TCP segments; encryption none; diagnosis cleartext_login; outcome connected; close by client FIN"
    server --encryption not_sup
    tsql_client off
}

setup_snaplen_96() {
    CAP_SNAPLEN=96
}
sc_snaplen_96() {
    EXPECT="steps 1-7 as login-only-tls, but every frame is cut at 96 bytes (14 Ethernet + 20 IP + 32 TCP with timestamps = 66 bytes of headers: only the first 30 bytes of each TDS/TLS payload): the TLS handshake messages, Login7 and login response are truncated; what the plugin can still read depends on the first bytes only"
    server --encryption off
    tsql_client request
}

setup_port_reuse_two_connections() {
    in_client sysctl -qw net.ipv4.ip_local_port_range="40000 40000" || return 1
    in_client sysctl -qw net.ipv4.tcp_tw_reuse=1 || return 1
    note "client namespace: sysctl net.ipv4.ip_local_port_range='40000 40000', net.ipv4.tcp_tw_reuse=1"
}
sc_port_reuse_two_connections() {
    EXPECT="2 connections with the same 4-tuple (client port 40000), two tcp.stream numbers; each steps 1,2,4,5,6,7 in clear; diagnosis cleartext_login; outcome connected twice; the second SYN comes 1.5 s after the first connection's FIN exchange (client TIME_WAIT reused)"
    server --encryption not_sup
    tsql_client off
    sleep 1.5
    tsql_client off
}

# Ephemeral-port exhaustion: a client that opens connections faster than TIME_WAIT frees its ports.
# 128 ports, each held 60 s in TIME_WAIT after the client's close: the 129th connect() finds none.
setup_port_exhaustion() {
    in_client sysctl -qw net.ipv4.ip_local_port_range="40000 40127" || return 1
    note "client namespace: sysctl net.ipv4.ip_local_port_range='40000 40127' (128 ephemeral ports)"
}
sc_port_exhaustion() {
    EXPECT="128 connections from ports 40000-40127 within about 1.3 s (each steps 1,2,4,5,6,7 in clear, cleartext_login, closed by the client's FIN); then pytds' connect fails with EADDRNOTAVAIL (no SYN on the wire); the summary (tdsdiag,summary) warns that 10.10.10.10 opens more connections a second than TIME_WAIT allows (likely port exhaustion)"
    server --encryption not_sup
    pytds_client --repeat 400 --interval 0.008
}

# A client that stops reading a large result: its receive window closes for 2 s.
setup_zero_window_stall() {
    in_client sysctl -qw net.ipv4.tcp_rmem="4096 8192 8192" || return 1
    note "client namespace: sysctl net.ipv4.tcp_rmem='4096 8192 8192' (small receive buffers)"
}
sc_zero_window_stall() {
    EXPECT="steps 1,2,4,5,6,7 in clear, cleartext_login; during step 6 the client's window goes to 0 and stays there about 2 s (the server's zero-window probes), then opens: diagnosis slow_network (the client's receive window stayed at 0, longer than tdsdiag.zero_window_stall_ms) on the frame that opens it; outcome connected; close by client FIN"
    server --encryption not_sup --result-rows 40000
    pytds_client --query "select n from numbers" --read-delay 2
}

setup_port_reuse_syn_answered_by_ack() {
    in_client sysctl -qw net.ipv4.ip_local_port_range="50000 50001" || return 1
    # The client's abortive close (RST with ACK) never reaches the server; the bare RST a client sends
    # in answer to a stray ACK (no ACK flag) does.
    in_server iptables -A INPUT -p tcp --dport "$PORT" --tcp-flags RST,ACK RST,ACK -j DROP || return 1
    note "client namespace: sysctl net.ipv4.ip_local_port_range='50000 50001' (connect() takes the even port 50000 first)"
    note "iptables -A INPUT -p tcp --dport $PORT --tcp-flags RST,ACK RST,ACK -j DROP in the server namespace (drops the client's RST/ACK, not a bare RST)"
}
sc_port_reuse_syn_answered_by_ack() {
    EXPECT="stream 0 (tedious, port 50000): steps 1,2,4,5,6,7 in clear, closed by the client's RST (dropped before the server); diagnoses cleartext_login, client_reset. Stream 1 (tsql, port 50000 again, 0.8 s later): its SYN answered by the server's bare ACK of stream 0 (diagnosis port_reuse, warning, naming connection 0), the client's bare RST, then the SYN sent again at once (same tcp.stream, a retransmission), accepted: steps 1,2,4,5,6,7 in clear, cleartext_login; outcome connected twice"
    server --encryption not_sup
    # holdMs: the client acknowledges the last response before its reset, so the server has nothing
    # to send again (a retransmission would meet the client's bare RST, which reaches the server).
    tedious_client '{"encrypt": false, "close": "reset", "holdMs": 300}'
    sleep 0.5
    tsql_client off
}

setup_port_reuse_syn_answered_by_ack_fails() {
    in_client sysctl -qw net.ipv4.ip_local_port_range="50000 50001" || return 1
    in_server iptables -A INPUT -p tcp --dport "$PORT" --tcp-flags RST RST -j DROP || return 1
    note "client namespace: sysctl net.ipv4.ip_local_port_range='50000 50001' (connect() takes the even port 50000 first)"
    note "iptables -A INPUT -p tcp --dport $PORT --tcp-flags RST RST -j DROP in the server namespace (drops every RST of the client)"
}
sc_port_reuse_syn_answered_by_ack_fails() {
    EXPECT="stream 0 (tedious, port 50000): steps 1,2,4,5,6,7 in clear, closed by the client's RST (dropped before the server); diagnoses cleartext_login, client_reset. Stream 1 (tsql, port 50000 again): its SYNs answered by the server's bare ACK of stream 0 (one SYN unanswered) and each reset by the client; diagnosis port_reuse once (warning in a single pass, error once the capture shows no SYN/ACK); outcome failed"
    server --encryption not_sup
    tedious_client '{"encrypt": false, "close": "reset", "holdMs": 300}'
    sleep 0.5
    tsql_client off "connect timeout = 5"
}

setup_port_reuse_server_time_wait_accepted() {
    in_client sysctl -qw net.ipv4.ip_local_port_range="50000 50001" || return 1
    note "client namespace: sysctl net.ipv4.ip_local_port_range='50000 50001' (connect() takes the even port 50000 first)"
}
sc_port_reuse_server_time_wait_accepted() {
    EXPECT="stream 0 (tsql, port 50000): steps 1,2,4,5,6,7 in clear, the server's FIN answers the batch; diagnoses cleartext_login, server_first_fin. Stream 1 (tsql, port 50000 again, while the server holds stream 0 in TIME_WAIT): SYN answered by SYN/ACK, steps 1,2,4,5,6,7 in clear; diagnosis cleartext_login only (no port_reuse); outcome connected twice"
    server --encryption not_sup --fin-mid-session 1 --fail-conns 1
    tsql_client off
    sleep 0.5
    tsql_client off
}

# ---- MARS (issue 6) ------------------------------------------------------------
# FreeTDS asks for MARS only through its ODBC driver: pyodbc (python3-pyodbc)
# on unixODBC with the FreeTDS driver (tdsodbc), DSN-less (tests/lab/odbc_client.py)
v_odbc() {
    $PY -c 'import pyodbc; print("pyodbc %s" % pyodbc.version)' 2>/dev/null | tr -d '\n' || echo -n "pyodbc"
    echo " on FreeTDS ODBC $(dpkg-query -W -f='${Version}' tdsodbc 2>/dev/null | sed 's/+.*//;s/-.*//') (unixODBC $(dpkg-query -W -f='${Version}' unixodbc 2>/dev/null | sed 's/-.*//'), GnuTLS $(dpkg-query -W -f='${Version}' libgnutls30 2>/dev/null | sed 's/-.*//'))"
}

# odbc_client ARGS... (see odbc_client.py)
odbc_client() {
    [ -e /usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so ] || die "FreeTDS ODBC missing: apt-get install tdsodbc unixodbc python3-pyodbc"
    note_client "$(v_odbc)"
    echo "--- odbc $*" >> "$T/clients.log"
    in_client timeout "${CLIENT_TIMEOUT:-40}" "$PY" "$LAB/odbc_client.py" \
        --server "$SERVER_IP" --port "$PORT" --password "$PASSWORD" "$@" >> "$T/clients.log" 2>&1
    echo "--- odbc exit $?" >> "$T/clients.log"
}

# FreeTDS 1.3.17 starts SMP after the login (Login7 and login response are
# bare TDS): SYN for session 0 rides with the first batch. A statement that
# runs while another's results are unfetched gets a session of its own (SYN
# 1). FreeTDS queues the SMP FIN of a session it frees only when another
# session is still open, and sends it with its next packet: hence the
# `select 3` after the cursors are closed. The last session gets no SMP FIN:
# it ends with the TCP close.
sc_mars_session() {
    EXPECT="steps 1,2,4,5,6,7; encryption none; prelogin MARS 1 from both sides; Login7 and login response bare TDS, then SMP (MARS): session 0 (SYN with pyodbc's first batch, sp_datatype_info_100 x4, select 1 left unfetched), session 1 (SYN with select 2), both answered by SMP DATA on their SID; the client's SMP FIN for session 1 rides with select 3 on session 0 and the server answers with SMP FIN on session 1; no SMP FIN for session 0 (FreeTDS closes its last session by closing TCP); outcome connected; diagnosis cleartext_login; close by client FIN"
    server --encryption not_sup --mars
    odbc_client --encryption off --after "select 3"
}

sc_mars_session_login_only_tls() {
    EXPECT="as mars-session with login-only TLS: steps 1-7; encryption login_only (TLS 1.2); prelogin MARS 1 from both sides; TLS handshake inside prelogin packets, Login7 as TLS application data, login response in clear, then SMP in clear (sessions 0 and 1, SMP FIN on session 1 answered by the server's FIN, none on session 0); outcome connected; close by client FIN"
    server --encryption off --mars
    odbc_client --encryption request --after "select 3"
}

# ---- redirect, attention, browser (issue 6) -----------------------------------
REDIRECT_IP=10.10.10.121
setup_redirect_followed() {
    ip -n "$NSS" addr add "$REDIRECT_IP/24" dev eth0 || return 1
    in_client ping -c1 -W1 "$REDIRECT_IP" >/dev/null 2>&1 || true
    CAP_FILTER="(host $SERVER_IP or host $REDIRECT_IP) and tcp port $PORT"
    note "server namespace: second address $REDIRECT_IP/24 on eth0 for the routing target"
}
sc_redirect_followed() {
    EXPECT="2 connections; connection 1 (10.10.10.120:1433): steps 1,2,4,5,7 in clear, login response with LOGINACK and ENVCHANGE type 20 routing to 10.10.10.121:1433 (protocol 0 TCP), then client FIN (tedious closes to follow the redirect, no SQL batch); connection 2 (10.10.10.121:1433): steps 1,2,4,5,6,7 in clear, SET batch and select 1, close by client FIN; encryption none; diagnosis redirect (routed to 10.10.10.121:1433, followed) + cleartext_login; outcome connected"
    SERVER_IP=$REDIRECT_IP server --encryption off
    local second="tests/lab/tds_server.py --listen $REDIRECT_IP $SERVER_ARGS"
    server --encryption off --redirect "$REDIRECT_IP:$PORT"
    SERVER_ARGS="$SERVER_ARGS (on $SERVER_IP) + $second (the routing target)"
    tedious_client '{"encrypt": false, "query": "select 1"}'
}

sc_attention_cancel() {
    EXPECT="steps 1,2,4,5,6,7 in clear; after the SET batch, SQL batch waitfor delay '00:00:10' unanswered; client attention (TDS type 0x06) 0.5 s after it; server DONE (status 0) then DONE with DONE_ATTN (status 0x0020) 0.2 s after the attention: attention acknowledged (diagnosis query_cancelled, acknowledged after 0.2 s); then select 1 answered; encryption none; diagnosis cleartext_login; outcome connected; close by client FIN"
    server --encryption off --slow-batch 10 --attention-delay 0.2
    tedious_client '{"encrypt": false, "query": "waitfor delay '"'"'00:00:10'"'"'", "cancelAfterMs": 500, "thenQuery": "select 1"}'
}

sc_attention_unacknowledged() {
    EXPECT="steps 1,2,4,5,6,7 in clear; SQL batch waitfor delay '00:00:10' unanswered; client attention (TDS type 0x06) 0.5 s after it, never acknowledged (no DONE with DONE_ATTN); the client closes with FIN 2 s after the attention (tedious cancelTimeout), then the server FIN; encryption none; diagnosis attention_unacknowledged + cleartext_login; outcome connected; close by client FIN"
    server --encryption off --slow-batch 10 --attention-no-ack
    tedious_client '{"encrypt": false, "query": "waitfor delay '"'"'00:00:10'"'"'", "cancelAfterMs": 500, "cancelTimeout": 2000}'
}

sc_browser_instance_missing() {
    EXPECT="step 0 only: SSRP CLNT_UCAST_EX request (0x03, all instances) and its SVR_RESP (0x05) listing SQLEXPRESS (tcp 1433) but not OTHER, the instance the client asked for; no TCP; diagnosis browser_instance_missing; outcome failed"
    server --encryption off --browser
    pytds_client --instance OTHER
}

# ---- Windows authentication (issue 6) -------------------------------------------
# FreeTDS sends NTLMSSP in the Login7 for a domain user (-U 'DOMAIN\user',
# TSQL_USER/TSQL_PASSWORD of tsql_client) and Kerberos (GSS-API) without -U.
# The server's --sspi ntlm scripts the CHALLENGE and reads the AUTHENTICATE
# without verifying it; --sspi gssapi accepts with python3-gssapi for real.
sc_ntlm_login() {
    EXPECT="steps 1-7; encryption login_only (TLS 1.2); integrated authentication NTLM: Login7 (inside TLS) with fIntSecurity and an NTLMSSP NEGOTIATE, SSPI token 0xED (NTLMSSP CHALLENGE, domain LAB) and SSPI packet 0x11 (NTLMSSP AUTHENTICATE, user alice, domain LAB) in clear, then LOGINACK; outcome connected; close by client FIN"
    server --encryption off --sspi ntlm
    TSQL_USER='LAB\alice' TSQL_PASSWORD="$PASSWORD" tsql_client request
    note "tsql -U 'LAB\\alice' -P (lab password)"
}

sc_ntlm_login_failed_18452() {
    EXPECT="steps 1-5,7; encryption login_only (TLS 1.2); integrated authentication NTLM (Login7 inside TLS with an NTLMSSP NEGOTIATE, CHALLENGE in 0xED and AUTHENTICATE for LAB\\alice in 0x11, in clear); ERROR 18452 state 1 class 14 in the login response; diagnosis login_failed; outcome login_failed"
    server --encryption off --sspi ntlm --login-error 18452 --error-state 1 \
        --login-error-message "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication."
    TSQL_USER='LAB\alice' TSQL_PASSWORD="$PASSWORD" tsql_client request
    note "tsql -U 'LAB\\alice' -P (lab password)"
}

sc_anonymous_logon() {
    EXPECT="steps 1-5,7; encryption login_only (TLS 1.2); integrated authentication NTLM (Login7 inside TLS with an NTLMSSP NEGOTIATE, CHALLENGE in 0xED); the AUTHENTICATE in 0x11 has an empty user name and an empty domain (anonymous); ERROR 18456 state 1 class 14 'Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'.' in the login response; diagnosis login_failed (anonymous logon); outcome login_failed"
    server --encryption off --sspi ntlm --login-error 18456 --error-state 1
    TSQL_USER='\' TSQL_PASSWORD='' tsql_client request
    note "tsql -U '\\' -P ''"
}

# ---- Kerberos: an MIT KDC (krb5-kdc) for realm LAB.TEST in the server namespace
# (10.10.10.120:88), its database, keytab and configuration in $T/krb; the
# client resolves sql.lab.test through /etc/netns/<client namespace>/hosts (ip
# netns exec bind-mounts it on /etc/hosts) and gets a TGT for alice (kinit)
# before the capture starts: a capture with port 88 holds the TGS exchange for
# the SPN, then TDS.  KRB5_CONFIG, KRB5CCNAME (client) and KRB5_KTNAME (server,
# tds_server.py --sspi gssapi) are exported to the clients and the server.
KRB_REALM=LAB.TEST
KRB_HOST=sql.lab.test
krb_lab() {  # SPN: its principal and keytab ($T/krb/sql.keytab)
    local k=$T/krb spn=$1
    mkdir -p "$k"
    cat > "$k/krb5.conf" <<KRB
[libdefaults]
    default_realm = $KRB_REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
[realms]
    $KRB_REALM = {
        kdc = $SERVER_IP
    }
[domain_realm]
    .lab.test = $KRB_REALM
    lab.test = $KRB_REALM
KRB
    cat > "$k/kdc.conf" <<KDC
[kdcdefaults]
    kdc_listen = $SERVER_IP
    kdc_tcp_listen = $SERVER_IP
[realms]
    $KRB_REALM = {
        database_name = $k/principal
        key_stash_file = $k/stash
        acl_file = $k/kadm5.acl
        max_life = 10h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:$k/kdc.log
KDC
    : > "$k/kadm5.acl"
    export KRB5_CONFIG=$k/krb5.conf KRB5_KDC_PROFILE=$k/kdc.conf KRB5CCNAME=FILE:$k/alice.cc \
        KRB5_KTNAME=FILE:$k/sql.keytab
    kdb5_util create -s -r "$KRB_REALM" -P "$(head -c 18 /dev/urandom | base64)" >/dev/null 2>&1 || return 1
    kadmin.local -r "$KRB_REALM" -q "addprinc -pw $PASSWORD alice" >/dev/null 2>&1 || return 1
    kadmin.local -r "$KRB_REALM" -q "addprinc -randkey $spn" >/dev/null 2>&1 || return 1
    kadmin.local -r "$KRB_REALM" -q "ktadd -k $k/sql.keytab $spn" >/dev/null 2>&1 || return 1
    in_server krb5kdc -n -r "$KRB_REALM" >"$k/krb5kdc.out" 2>&1 &
    mkdir -p "/etc/netns/$NSC"
    echo "$SERVER_IP $KRB_HOST" > "/etc/netns/$NSC/hosts"
    local i
    for i in $(seq 1 50); do
        in_client sh -c "echo '$PASSWORD' | kinit alice@$KRB_REALM" >/dev/null 2>&1 && break
        sleep 0.1
    done
    in_client klist -s || { rm -rf "/etc/netns/$NSC"; return 1; }
    note "MIT KDC (krb5kdc $(dpkg-query -W -f='${Version}' krb5-kdc 2>/dev/null | sed 's/-.*//')) for realm $KRB_REALM on $SERVER_IP:88 in the server namespace with principals alice and $spn, client: kinit alice before the capture, $KRB_HOST -> $SERVER_IP in /etc/netns/<client namespace>/hosts"
}
krb_lab_done() { rm -rf "/etc/netns/$NSC"; }

setup_kerberos_login() {
    krb_lab "MSSQLSvc/$KRB_HOST:$PORT" || return 1
    CAP_FILTER="host $SERVER_IP and (tcp port $PORT or port 88)"
}
sc_kerberos_login() {
    EXPECT="steps 1-7; encryption login_only (TLS 1.2); integrated authentication Kerberos: TGS-REQ/TGS-REP for MSSQLSvc/sql.lab.test:1433 (UDP 88) between the TLS handshake and the Login7, Login7 inside TLS (AP-REQ), login response in clear with an SSPI token 0xED (AP-REP, GSS-API krb5 OID 1.2.840.113554.1.2.2) before LOGINACK; outcome connected; close by client FIN"
    server --encryption off --sspi gssapi
    TSQL_USER='' TSQL_PASSWORD='' tsql_client request "host = $KRB_HOST" "mutual authentication = yes"
    note "tsql without -U (Kerberos), freetds.conf host = $KRB_HOST, mutual authentication = yes; server keytab of MSSQLSvc/$KRB_HOST:$PORT (KRB5_KTNAME)"
    krb_lab_done
}

# gssapi_client ARGS... (see gssapi_client.py): pytds with python3-gssapi
deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null | sed 's/-.*//'; }
v_gssapi() {
    echo "pytds $(deb_version python3-tds) with python3-gssapi $(deb_version python3-gssapi) (MIT krb5 $(deb_version libgssapi-krb5-2), gss-ntlmssp $(deb_version gss-ntlmssp))"
}
gssapi_client() {
    note_client "$(v_gssapi)"
    echo "--- gssapi $*" >> "$T/clients.log"
    in_client timeout "${CLIENT_TIMEOUT:-40}" "$PY" "$LAB/gssapi_client.py" \
        --server "$SERVER_IP" --port "$PORT" "$@" >> "$T/clients.log" 2>&1
    echo "--- gssapi exit $?" >> "$T/clients.log"
}

# The client's SPNEGO (MIT) offers Kerberos 5 and NTLMSSP (gss-ntlmssp); it has a
# ticket for MSSQLSvc/sql.lab.test, but the server has no key for it (no
# keytab): the server's SPNEGO (MIT, python3-gssapi) cannot accept Kerberos and
# selects NTLMSSP, which the client then runs; both ends check NTLM for real
# (gss-ntlmssp, NTLM_USER_FILE).  gss-ntlmssp imports only host-based names:
# the target is MSSQLSvc@sql.lab.test, i.e. the port-less SPN MSSQLSvc/sql.lab.test.
setup_ntlm_fallback() {
    krb_lab "MSSQLSvc/$KRB_HOST" || return 1
    printf 'LAB:alice:%s\n' "$PASSWORD" > "$T/krb/ntlm_users"
    export NTLM_USER_FILE=$T/krb/ntlm_users NTLMUSER=alice KRB5_KTNAME=FILE:$T/krb/none.keytab
    CAP_FILTER="host $SERVER_IP and (tcp port $PORT or port 88)"
}
sc_ntlm_fallback() {
    EXPECT="steps 1,2,4,5,6,7; encryption none; diagnosis cleartext_login; integrated authentication Negotiate (SPNEGO) falling back from Kerberos to NTLM: TGS-REQ/TGS-REP for MSSQLSvc/sql.lab.test (UDP 88) before the Login7; Login7 SSPI = SPNEGO NegTokenInit with mechTypes Kerberos 5 (1.2.840.113554.1.2.2) and NTLMSSP (1.3.6.1.4.1.311.2.2.10) and the Kerberos AP-REQ as mechToken; 0xED NegTokenResp request-mic with supportedMech NTLMSSP (Kerberos refused); 0x11 NegTokenResp NTLMSSP NEGOTIATE; 0xED NegTokenResp accept-incomplete NTLMSSP CHALLENGE; 0x11 NegTokenResp NTLMSSP AUTHENTICATE (LAB\\alice) with mechListMIC; login response with 0xED NegTokenResp accept-completed (mechListMIC) before LOGINACK; outcome connected; close by client FIN"
    server --encryption not_sup --sspi gssapi
    gssapi_client --target "MSSQLSvc@$KRB_HOST"
    note "client: SPNEGO with alice's TGT and NTLM_USER_FILE (LAB:alice) for gss-ntlmssp, pytds' SSPI answers sent as packet type 0x11 by gssapi_client.py (pytds 1.11 alone sends 0x10), server: no keytab (KRB5_KTNAME names a missing file), NTLM_USER_FILE for gss-ntlmssp"
    krb_lab_done
}

# The client asks for a ticket to an SPN the KDC does not hold: freetds.conf
# names sql2.lab.test (an alias of the server in the client's hosts file), the
# KDC has only MSSQLSvc/sql.lab.test:1433, so the TGS-REQ for
# MSSQLSvc/sql2.lab.test:1433 gets KDC_ERR_S_PRINCIPAL_UNKNOWN.
setup_kerberos_spn_missing() {
    krb_lab "MSSQLSvc/$KRB_HOST:$PORT" || return 1
    echo "$SERVER_IP sql2.lab.test" >> "/etc/netns/$NSC/hosts"
    CAP_FILTER="host $SERVER_IP and (tcp port $PORT or port 88)"
}
sc_kerberos_spn_missing() {
    EXPECT="KRB-ERROR KDC_ERR_S_PRINCIPAL_UNKNOWN for MSSQLSvc/sql2.lab.test:1433 (UDP 88) during the SQL connection, diagnosis kerberos_spn_missing; the client gives up before the Login7"
    server --encryption off --sspi gssapi
    TSQL_USER='' TSQL_PASSWORD='' tsql_client request "host = sql2.lab.test"
    note "tsql without -U (Kerberos), freetds.conf host = sql2.lab.test; KDC principal MSSQLSvc/$KRB_HOST:$PORT only"
    krb_lab_done
}

# The client's clock is an hour ahead of the KDC's: kinit runs at the real time
# (its TGT is valid), then tsql runs under libfaketime (faketime -f +1h), so
# the authenticator of its TGS-REQ for MSSQLSvc/sql.lab.test:1433 is an hour
# off and the KDC answers KRB_AP_ERR_SKEW (37), beyond its 5-minute clockskew.
setup_kerberos_clock_skew() {
    command -v faketime >/dev/null || { echo "run: faketime missing (apt-get install faketime)" >&2; return 1; }
    krb_lab "MSSQLSvc/$KRB_HOST:$PORT" || return 1
    CAP_FILTER="host $SERVER_IP and (tcp port $PORT or port 88)"
}
sc_kerberos_clock_skew() {
    EXPECT="KRB-ERROR KRB_AP_ERR_SKEW (37) answering the TGS-REQ for MSSQLSvc/sql.lab.test:1433 (UDP 88) during the SQL connection, diagnosis kerberos_clock_skew; the client gives up before the Login7"
    server --encryption off --sspi gssapi
    TSQL_FAKETIME=+1h TSQL_USER='' TSQL_PASSWORD='' tsql_client request "host = $KRB_HOST"
    note "tsql without -U (Kerberos), freetds.conf host = $KRB_HOST, under faketime -f +1h (the client's clock an hour ahead of the KDC's, kinit ran at the real time), KDC principal MSSQLSvc/$KRB_HOST:$PORT, default clockskew (300 s)"
    krb_lab_done
}

# The client gets its TGT at login time with a wrong password: alice requires
# pre-authentication (modprinc +requires_preauth), so the KDC answers the first
# AS-REQ with KDC_ERR_PREAUTH_REQUIRED and the one with an encrypted timestamp
# made from the wrong password with KDC_ERR_PREAUTH_FAILED (24).
setup_kerberos_preauth_failed() {
    krb_lab "MSSQLSvc/$KRB_HOST" || return 1
    kadmin.local -r "$KRB_REALM" -q "modprinc +requires_preauth alice" >/dev/null 2>&1 || return 1
    CAP_FILTER="host $SERVER_IP and (tcp port $PORT or port 88)"
}
sc_kerberos_preauth_failed() {
    EXPECT="KRB-ERROR KDC_ERR_PREAUTH_FAILED (24) answering the client's AS-REQ for krbtgt/LAB.TEST during the SQL connection, diagnosis kerberos_preauth_failed (likely: tied by time, the principal is not a SQL Server SPN); the client closes before the Login7"
    server --encryption not_sup --sspi gssapi
    GSSAPI_PASSWORD=Wrong-Passw0rd gssapi_client --target "MSSQLSvc@$KRB_HOST" --user "alice@$KRB_REALM"
    note "client: pytds with python3-gssapi, --user alice@$KRB_REALM with a wrong password (GSSAPI_PASSWORD) acquired at login time, alice +requires_preauth in the KDC"
    krb_lab_done
}

# ---- refused SYN retried, self-signed MD5, Windows auth in clear, early close,
# named instance on its dynamic port (issue 7) --------------------------------
# retry_client ARGS... (see retry_client.py): our script on the kernel's TCP,
# connecting again from the same source port after each refusal
v_retry() {
    echo "tests/lab/retry_client.py (our script: Python $($PY -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])') socket connect() on the kernel's TCP, mimicking the Windows client's retry of a refused SYN on the same source port)"
}
retry_client() {
    note_client "$(v_retry)"
    echo "--- retry_client $*" >> "$T/clients.log"
    in_client timeout "${CLIENT_TIMEOUT:-40}" "$PY" "$LAB/retry_client.py" \
        --server "$SERVER_IP" --port "$PORT" "$@" >> "$T/clients.log" 2>&1
    echo "--- retry_client exit $?" >> "$T/clients.log"
}

# syn_retransmit_client ARGS... (see syn_retransmit_client.py): raw TCP
# segments from our script, the same SYN sent again after each refusal
syn_retransmit_client() {
    note_client "tests/lab/syn_retransmit_client.py (our script: Python $($PY -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])') raw socket, writing the client's TCP segments itself to imitate Windows, which sends the same SYN again, same initial sequence number, after a refusal: no Linux socket does that)"
    echo "--- syn_retransmit_client $*" >> "$T/clients.log"
    in_client timeout "${CLIENT_TIMEOUT:-40}" "$PY" "$LAB/syn_retransmit_client.py" \
        --server "$SERVER_IP" --port "$PORT" "$@" >> "$T/clients.log" 2>&1
    echo "--- syn_retransmit_client exit $?" >> "$T/clients.log"
}

sc_syn_refused_same_isn() {
    EXPECT="one tcp.stream, three SYN/RST pairs 0.5 s apart, the same SYN (same port, same sequence number) each time, Wireshark marking the second and third as retransmissions: step 1 then step 7 for each pair; diagnosis syn_rejected once, on the first RST, its text saying 3 attempts (with -2); no server_reset; outcome failed"
    NO_SERVER="nothing listens on $SERVER_IP:$PORT"
    syn_retransmit_client --attempts 3 --interval 0.5
}

# jtds_client URL [QUERY]: tests/lab/JtdsLogin.java (compiled with javac) with Debian's jTDS
v_jtds() {
    local j
    j=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
    echo "jTDS $(dpkg-query -W -f='${Version}' libjtds-java 2>/dev/null | sed 's/[+-].*//') (Debian libjtds-java) on Java ${j:-?} through tests/lab/JtdsLogin.java (our 40-line JDBC program)"
}
jtds_client() {
    note_client "$(v_jtds)"
    echo "--- jtds $*" >> "$T/clients.log"
    # compiled first, so that the client's time in the capture is the driver's, not the compiler's
    mkdir -p "$T/java" && javac -d "$T/java" -cp /usr/share/java/jtds.jar "$LAB/JtdsLogin.java" || die "javac failed"
    in_client timeout "${CLIENT_TIMEOUT:-40}" java -cp "$T/java:/usr/share/java/jtds.jar" JtdsLogin \
        "$1" sa "$PASSWORD" "${2:-select 1}" >> "$T/clients.log" 2>&1
    echo "--- jtds exit $?" >> "$T/clients.log"
}

sc_jtds_login_only_tls_hang() {
    EXPECT="steps 1-5 and 7 (no command); encryption login_only (TLS 1.2); the login response in clear is a TDS 7.1 one (INFO line numbers 2 bytes, 9-byte DONE), read by its own lengths: LOGINACK seen, outcome connected; then nothing from the client (jTDS hangs reading the clear answer as TLS) until the lab stops it and its FIN comes: diagnosis client_silent_after_login there, whose text says the client stopped answering, not the server"
    server --encryption off
    local url="jdbc:jtds:sqlserver://$SERVER_IP:$PORT/master;ssl=request"
    CLIENT_TIMEOUT=8 jtds_client "$url"
    grep -q '^jtds: connected' "$T/clients.log" && die "jTDS connected: the hang this capture shows did not happen"
    grep -q '^jtds: error' "$T/clients.log" && die "jTDS failed instead of hanging: $(grep '^jtds: error' "$T/clients.log")"
    provenance_line driver "$(v_jtds | sed 's/ through.*//')"
    provenance_line connection "$url, user sa, password ***"
    provenance_line error "(none: the client hung)"
}

sc_jtds_windows_auth_clear() {
    EXPECT="steps 1,4,5,6,7 (no PRELOGIN); encryption none; a Login7 in clear with an empty password field and NTLMSSP in its SSPI data: diagnosis cleartext_login saying that no password crosses the wire (Windows authentication), never that a password is readable; conn.auth ntlm; TDS 7.1 login response read by its own lengths: outcome connected; close by client FIN"
    server --encryption not_sup --login7-first --sspi ntlm
    local url="jdbc:jtds:sqlserver://$SERVER_IP:$PORT/master;domain=LAB;useNTLMv2=true"
    jtds_client "$url"
    grep -q '^jtds: connected' "$T/clients.log" || die "jTDS did not connect: $(grep '^jtds: error' "$T/clients.log")"
    provenance_line driver "$(v_jtds | sed 's/ through.*//')"
    provenance_line connection "$url, user sa (as LAB\\sa), password ***"
    provenance_line error "(none, connected)"
}

sc_syn_refused_retried() {
    EXPECT="one 4-tuple, three refusals: step 1 then step 7 for each SYN/RST pair (about 0.5 s apart, same client port); diagnosis syn_rejected once, its text saying 3 attempts; no server_reset; outcome failed"
    NO_SERVER="nothing listens on $SERVER_IP:$PORT"
    retry_client --attempts 3 --interval 0.5
}

sc_cert_self_signed_md5_accepted() {
    EXPECT="steps 1-7; encryption login_only (TLS 1.2); self-signed certificate signed with md5WithRSAEncryption; no weak_cert_hash (the signature of a self-signed certificate is not what a client trusts: it is accepted or rejected as a certificate, whatever its hash); outcome connected; close by client FIN"
    server --encryption off --self-signed --cert-hash md5
    tsql_client request
}

# pytds, not tsql: GnuTLS (tsql with 'ca file') flags this certificate both
# untrusted and insecure (status 0x142: INVALID, SIGNER_NOT_FOUND,
# INSECURE_ALGORITHM), OpenSSL only as self-signed (error 18)
sc_cert_self_signed_md5_rejected() {
    EXPECT="steps 1,2,3,7; self-signed certificate signed with md5WithRSAEncryption; client FIN right after the server's Certificate/ServerHelloDone flight, no alert; diagnosis certificate_rejected saying self-signed (untrusted); no weak_cert_hash; outcome failed"
    server --encryption off --self-signed --cert-hash md5
    pytds_client --cafile "$T/ca.pem" --no-validate-host --login-only
    local why
    why=$(grep -m1 'certificate verify error' "$T/clients.log" | sed 's/^pytds: //')
    note "pytds with cafile = the lab CA (enc_login_only), which did not sign the certificate: pytds' verify callback reports ${why:-nothing}"
}

sc_cleartext_login_windows_auth() {
    EXPECT="steps 1,2,4,5,6,7; encryption none; integrated authentication NTLM in clear: Login7 with fIntSecurity and an NTLMSSP NEGOTIATE, no password field; SSPI token 0xED (NTLMSSP CHALLENGE), SSPI packet 0x11 (NTLMSSP AUTHENTICATE LAB\\alice, NTLMv2), LOGINACK; diagnosis cleartext_login with Windows authentication (no password on the wire; user, host, application and the session are exposed); conn.auth ntlm; outcome connected; close by client FIN"
    server --encryption not_sup --sspi ntlm
    TSQL_USER='LAB\alice' TSQL_PASSWORD="$PASSWORD" tsql_client off
    note "tsql -U 'LAB\\alice' -P (lab password)"
}

# Not tedious' connectTimeout: it counts from connect(), and the TCP, PRELOGIN
# and TLS steps before the Login7 took 37 to 112 ms on the loaded lab machine,
# so a 100 ms connectTimeout fired before the Login7 in 1 run out of 6; a
# timer started by the Login7 itself gives the same short wait every run
sc_login_closed_early() {
    EXPECT="steps 1-4,7: full TLS, Login7 sent as application data, never answered; the client closes with FIN about 30 ms after its Login7 (client's last payload); diagnosis login_abandoned (the client gave up after only N ms), not login_timeout; outcome failed"
    server --encryption on --login-no-answer
    tedious_client '{"encrypt": true, "trustServerCertificate": true, "connectTimeout": 15000, "closeAfterLoginMs": 30}'
    note "tests/lab/node/client.js closeAfterLoginMs 30: the application calls conn.close() 30 ms after tedious logged its Login7 as sent (tedious' debug packet log), tedious closes the socket"
}

setup_named_instance_dynamic_port() {
    PORT=49177
    CAP_FILTER="tcp port $PORT"
}
sc_named_instance_dynamic_port() {
    EXPECT="TCP port 49177 (a named instance's dynamic port, found through the SQL Browser before the capture) recognised as TDS without any preference (no .args): all steps from the PRELOGIN on (2-7) in one pass, step 1 too with -2 (steps 1-7); encryption login_only (TLS 1.2); an RPC request (sp_executesql) in step 6; outcome connected; close by client FIN"
    server --encryption off --ca-signed
    pytds_client --cafile "$T/ca.pem" --no-validate-host --login-only --query "select %s" --param 1
    note "pytds cursor.execute('select %s', (1,)): an RPC request sp_executesql"
}

setup_named_instance_dynamic_port_clear_login() {
    PORT=49177
    CAP_FILTER="tcp port $PORT"
}
sc_named_instance_dynamic_port_clear_login() {
    EXPECT="TCP port 49177 recognised as TDS without any preference (no .args) from a first payload that is a Login7 (TDS 7.0, no PRELOGIN): all steps from the Login7 on (4,5,6,7) in one pass, step 1 too with -2 (steps 1,4,5,6,7); no step 2 or 3 (no PRELOGIN: nothing negotiated); LOGINACK with TDS version 0x07000000, select 1; encryption none; diagnosis cleartext_login; outcome connected; close by client FIN"
    server --encryption not_sup --login7-first
    tsql_client off "tds version = 7.0"
    note "freetds.conf tds version = 7.0 (FreeTDS sends no PRELOGIN for TDS 7.0)"
}

# ---- the path between client and server (issue 19) -----------------------------
# lab_router (tests/lab/run) puts a router namespace between client and server;
# the capture is on the client, so the TTL of each packet tells who sent it.
wait_server_log() {  # TEXT [SECONDS]: wait until the server's log has TEXT
    local i
    for i in $(seq 1 $(( ${2:-10} * 20 ))); do
        grep -qF "$1" "$T/server.log" 2>/dev/null && return 0
        sleep 0.05
    done
    die "the server's log never showed '$1'"
}

setup_middlebox_reset() { lab_router; }
sc_middlebox_reset() {
    EXPECT="steps 1-6 then 7: login-only TLS, select 1 answered; the next batch (select 2, 2 s later) is answered by a RST from the server's address with TTL 64 while the server's other packets have TTL 63; diagnoses server_reset (its text: likely sent by a device on the path, TTL 64 not 63) and middlebox_reset on that RST; outcome connected"
    server --encryption off
    TSQL_PAUSE=2 TSQL_QUERY_AFTER="select 2\ngo\n" in_bg tsql_client request
    wait_server_log "SQL batch 1"
    sleep 0.3
    in_router nft -f - <<'NFT' || die "nft failed"
table ip lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        tcp dport 1433 reject with tcp reset
    }
}
NFT
    note "after the server logged batch 1 (select 1), in the router: nft table ip lab, chain forward (hook forward): tcp dport 1433 reject with tcp reset"
    note "tsql got select 1, then 2 s later select 2"
    wait_clients
}

# The router's conntrack forgets an established connection after 5 s of silence, and a packet of a
# connection it does not know is invalid (not a new connection picked up midstream).
router_conntrack_forgets_after_5s() {
    in_router sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=5 || return 1
    in_router sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || return 1
    note "in the router: sysctl net.netfilter.nf_conntrack_tcp_timeout_established=5 and net.netfilter.nf_conntrack_tcp_loose=0 (a packet of no known connection is invalid, not a new one)"
}

# Called at the server's first batch: the router's established connections to $PORT then and 6.5 s
# later, noted with what tsql did (ARG: said after "select 2"), to show the connection really expired.
note_conntrack_forgets() {
    local before after
    before=$(in_router conntrack -L -p tcp --dport "$PORT" 2>/dev/null | grep -c ESTABLISHED)
    sleep 6.5
    after=$(in_router conntrack -L -p tcp --dport "$PORT" 2>/dev/null | grep -c ESTABLISHED)
    note "tsql got select 1, then 8 s later select 2$1, and the router's conntrack listed ${before:-?} ESTABLISHED connection(s) to port $PORT at batch 1, ${after:-?} 6.5 s later (conntrack -L)"
}

setup_idle_reset() {
    lab_router || return 1
    in_router nft -f - <<'NFT' || return 1
table ip lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ct state invalid tcp dport 1433 reject with tcp reset
        ct state invalid drop
    }
}
NFT
    router_conntrack_forgets_after_5s || return 1
    note "nft table ip lab, chain forward: ct state invalid tcp dport 1433 reject with tcp reset, ct state invalid drop"
}
sc_idle_reset() {
    EXPECT="steps 1-6 then 7: login-only TLS, select 1 answered; 8 s of silence (the router's conntrack forgets the connection after 5 s); the next batch (select 2) is answered by the router's RST in the server's name (TTL 64, the server's packets 63); with -o tdsdiag.idle_timeout_s:5 (captures/idle-reset.args) diagnoses idle_reset (silent 8 s, its next packet answered by a reset), middlebox_reset and server_reset (likely sent by a device on the path) on that RST; outcome connected"
    server --encryption off
    TSQL_PAUSE=8 TSQL_QUERY_AFTER="select 2\ngo\n" in_bg tsql_client request
    wait_server_log "SQL batch 1"
    note_conntrack_forgets ""
    wait_clients
}

setup_idle_dropped() {
    lab_router || return 1
    in_router nft -f - <<'NFT' || return 1
table ip lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ct state invalid drop
    }
}
NFT
    router_conntrack_forgets_after_5s || return 1
    note "nft table ip lab, chain forward: ct state invalid drop"
}
sc_idle_dropped() {
    EXPECT="steps 1-6: login-only TLS, select 1 answered; 8 s of silence (the router's conntrack forgets the connection after 5 s); the next batch (select 2) is retransmitted, never acknowledged; with -o tdsdiag.idle_timeout_s:5 (captures/idle-dropped.args) diagnosis idle_reset on its second retransmission (silent 8 s, the client's next packet sent again with no acknowledgement); tsql is stopped by timeout; no close in the capture (last step 6)"
    server --encryption off
    CLIENT_TIMEOUT=12 TSQL_PAUSE=8 TSQL_QUERY_AFTER="select 2\ngo\n" in_bg tsql_client request
    wait_server_log "SQL batch 1"
    note_conntrack_forgets " (stopped by timeout 12 s after its start)"
    wait_clients
}

# ---- Microsoft JDBC driver (mssql-jdbc) and jTDS (issue 27) -----------------------
# One Java program, tests/lab/java (lab.JdbcClient), for both: Microsoft's driver
# from tests/lab/java/pom.xml (`mvn -q -B package` copies its jar to target/lib;
# built here on first use), jTDS from Debian's libjtds-java. Both run on the
# JVM's JSSE (java-17-openjdk), which writes no TLS key log: `keylog server`.
# Each capture's .txt gets driver:, connection: (password ***) and error: (the
# exception's getMessage() verbatim, lines joined with " | ") lines.
JAVA_LAB=$LAB/java
JDBC_URL="jdbc:sqlserver://$SERVER_IP:$PORT"
JTDS_URL="jdbc:jtds:sqlserver://$SERVER_IP:$PORT/master"
jdbc_build() {
    ls "$JAVA_LAB"/target/lib/mssql-jdbc-*.jar >/dev/null 2>&1 \
        && [ -e "$JAVA_LAB/target/classes/lab/JdbcClient.class" ] && return 0
    command -v mvn >/dev/null || die "maven missing: apt-get install maven openjdk-17-jdk-headless"
    (cd "$JAVA_LAB" && mvn -q -B package) >> "$T/clients.log" 2>&1 || die "mvn package failed in tests/lab/java"
}
jdbc_driver_name() {  # URL RUNTIME (no '+' in it: the provenance line joins clients with it)
    case $1 in
        jdbc:jtds:*)
            echo "jTDS $(dpkg-query -W -f='${Version}' libjtds-java 2>/dev/null | sed 's/+.*//;s/-.*//') (Debian libjtds-java; $2)" ;;
        *)
            local jar
            jar=$(basename "$(ls "$JAVA_LAB"/target/lib/mssql-jdbc-*.jar | head -1)" .jar)
            echo "Microsoft JDBC Driver ${jar#mssql-jdbc-} for SQL Server ($2)" ;;
    esac
}
# jdbc_truststore: the lab CA ($T/ca.pem, written by the server) as a PKCS12
# trust store $T/ca.p12 (password changeit); call after `server`
jdbc_truststore() {
    keytool -importcert -noprompt -alias labca -file "$T/ca.pem" -keystore "$T/ca.p12" \
        -storetype PKCS12 -storepass changeit >/dev/null 2>&1 || die "keytool failed"
}
# jdbc_client URL: lab.JdbcClient in the client namespace (user sa, $PASSWORD as
# a property, never in the URL), then the provenance's driver/connection/error lines;
# JDBC_JVM_ARGS (words) go to the JVM, e.g. javax.net.ssl.trustStore for jTDS
jdbc_client() {
    local url=$1 out rc runtime drv err
    jdbc_build
    case $url in jdbc:jtds:*) [ -e /usr/share/java/jtds.jar ] || die "jTDS missing: apt-get install libjtds-java" ;; esac
    echo "--- jdbc $url" >> "$T/clients.log"
    local jvm=()
    [ -n "${JDBC_JVM_ARGS:-}" ] && read -r -a jvm <<<"$JDBC_JVM_ARGS"
    out=$(in_client env LAB_PASSWORD="$PASSWORD" timeout "${CLIENT_TIMEOUT:-40}" java "${jvm[@]}" \
        -cp "$JAVA_LAB/target/classes:$JAVA_LAB/target/lib/*:/usr/share/java/jtds.jar" lab.JdbcClient "$url" \
        2>>"$T/clients.log")
    rc=$?
    printf '%s\n--- jdbc exit %s\n' "$out" "$rc" >> "$T/clients.log"
    runtime=$(sed -n 's/^driver: .*(\(.*\))$/\1/p' <<<"$out")
    drv=$(jdbc_driver_name "$url" "${runtime:-Java}")
    note_client "$drv"
    provenance_line driver "$drv"
    provenance_line connection "$(sed "s|$T/||g; s/\([Pp]assword=\)[^;]*/\1***/g" <<<"$url"); user=sa; password=***${JDBC_JVM_ARGS:+; JVM $(sed "s|$T/||g; s/\([Pp]assword=\)[^ ]*/\1***/g" <<<"$JDBC_JVM_ARGS")}"
    err=$(sed -n 's/^error: //p' <<<"$out")
    provenance_line error "${err:-(no message: the client was stopped after ${CLIENT_TIMEOUT:-40} s, exit $rc)}"
}

sc_jdbc_self_signed_default() {
    EXPECT="steps 1,2,3,7: TLS 1.2 handshake inside PRELOGIN packets with the server's self-signed certificate; the client closes without a Login7; diagnosis certificate_rejected (likely); outcome failed"
    server --encryption off --self-signed
    jdbc_client "$JDBC_URL"
}
sc_jdbc_full_tls() {
    EXPECT="steps 1-7; encryption full (TLS 1.2); outcome connected; no failure diagnosis"
    keylog server
    server --encryption off
    jdbc_client "$JDBC_URL;encrypt=true;trustServerCertificate=true"
}
sc_jdbc_login_only_tls() {
    EXPECT="steps 1-7; encryption login_only (TLS 1.2); outcome connected; no failure diagnosis"
    server --encryption off
    jdbc_client "$JDBC_URL;encrypt=false"
}
sc_jdbc_login_failed_state8() {
    EXPECT="steps 1-5,7; login-only TLS; ERROR 18456 state 8 class 14 in the login response; diagnosis login_failed; outcome login_failed"
    server --encryption off --login-error 18456 --error-state 8
    jdbc_client "$JDBC_URL;encrypt=false"
}
sc_jdbc_login_failed_state5() {
    EXPECT="steps 1-5,7; login-only TLS; ERROR 18456 state 5 class 14 in the login response; diagnosis login_failed; outcome login_failed"
    server --encryption off --login-error 18456 --error-state 5
    jdbc_client "$JDBC_URL;encrypt=false"
}
sc_jdbc_tls10_only() {
    EXPECT="steps 1,2,3,7; ClientHello offering TLS 1.2 and 1.3; server alert protocol_version (70); diagnosis no_common_tls_version + tls_alert, then server_first_fin (the server's FIN after its alert); outcome failed"
    server --encryption off --tls-min 1.0 --tls-max 1.0
    jdbc_client "$JDBC_URL;encrypt=true;trustServerCertificate=true"
}
sc_jdbc_strict() {
    EXPECT="TDS 8.0; steps in order 1,3,2,4,5,6,7 (TLS first, ALPN tds/8.0); encryption strict; outcome connected when decrypted (key log by the server); no failure diagnosis"
    keylog server
    server --strict --ca-signed
    jdbc_truststore
    jdbc_client "$JDBC_URL;encrypt=strict;trustStore=$T/ca.p12;trustStorePassword=changeit;hostNameInCertificate=labsql.tdsdiag.test"
}
sc_jdbc_strict_ip_address() {
    EXPECT="TDS 8.0; steps 1,3,7: ClientHello (ALPN tds/8.0, no SNI: an IP address), the server's TLS 1.3 flight, the client's Change Cipher Spec and an encrypted record (a fatal alert certificate_unknown, readable with the key log), then the server's FIN and the client's; no TDS; diagnosis certificate_rejected (likely: TLS 1.3 hides the certificate); outcome failed"
    keylog server
    server --strict --ca-signed
    jdbc_truststore
    jdbc_client "$JDBC_URL;encrypt=strict;trustStore=$T/ca.p12;trustStorePassword=changeit"
}
sc_jdbc_name_mismatch() {
    EXPECT="steps 1,2,3,7: TLS 1.2 handshake inside PRELOGIN packets, certificate for labsql.tdsdiag.test / 10.10.10.121 from the lab CA; the client closes without a Login7; diagnosis certificate_rejected (likely); outcome failed"
    server --encryption off --ca-signed --cert-ip 10.10.10.121
    jdbc_truststore
    jdbc_client "$JDBC_URL;encrypt=true;trustStore=$T/ca.p12;trustStorePassword=changeit"
}
sc_jdbc_no_common_cipher() {
    EXPECT="steps 1,2,3,7; server alert handshake_failure (40) after the ClientHello; diagnosis no_common_cipher + tls_alert, then server_first_fin (the server's FIN after its alert); outcome failed"
    server --encryption off --ciphers "$NOCIPHER"
    jdbc_client "$JDBC_URL;encrypt=true;trustServerCertificate=true"
}
sc_jdbc_reset_after_clienthello() {
    EXPECT="steps 1,2,3,7; server RST right after the ClientHello; diagnoses no_common_cipher (likely: a reset right after a TLS 1.2+ ClientHello) + server_reset; outcome failed"
    server --encryption off --close-after-clienthello rst
    jdbc_client "$JDBC_URL;encrypt=true;trustServerCertificate=true"
}
sc_jdbc_login_timeout() {
    EXPECT="steps 1-4,7: login-only TLS, Login7 never answered; the client closes after its login timeout (3 s); diagnosis login_timeout; outcome failed"
    server --encryption off --login-no-answer --no-answer-limit 15
    jdbc_client "$JDBC_URL;encrypt=false;loginTimeout=3;socketTimeout=3000"
}
sc_jdbc_login_timeout_ignored() {
    EXPECT="steps 1-5,7: login-only TLS, Login7 never answered; 15 s later the server closes first (FIN), then the client; diagnosis server_first_fin during the login; outcome failed"
    server --encryption off --login-no-answer --no-answer-limit 15
    jdbc_client "$JDBC_URL;encrypt=false;loginTimeout=3"
}
sc_jdbc_cleartext() {
    EXPECT="steps 1,2,4,5,6,7; encryption none; outcome connected; diagnosis cleartext_login"
    server --encryption not_sup
    jdbc_client "$JDBC_URL;encrypt=false"
}

sc_jtds_cleartext() {
    EXPECT="steps 1,4,5,6,7 (no PRELOGIN); encryption none; TDS 7.1 login response (2-byte INFO line numbers); outcome connected; diagnosis cleartext_login"
    server --encryption off --login7-first
    jdbc_client "$JTDS_URL"
}
sc_jtds_full_tls() {
    EXPECT="steps 1-7; encryption full; outcome connected; no failure diagnosis"
    keylog server
    server --encryption off
    jdbc_client "$JTDS_URL;ssl=require"
}
sc_jtds_login_failed_state8() {
    EXPECT="steps 1,4,5,7 (no PRELOGIN); cleartext; ERROR 18456 state 8 class 14; diagnosis login_failed + cleartext_login; outcome login_failed"
    server --encryption off --login7-first --login-error 18456 --error-state 8
    jdbc_client "$JTDS_URL"
}
sc_jtds_login_failed_state5() {
    EXPECT="steps 1,4,5,7 (no PRELOGIN); cleartext; ERROR 18456 state 5 class 14; diagnosis login_failed + cleartext_login; outcome login_failed"
    server --encryption off --login7-first --login-error 18456 --error-state 5
    jdbc_client "$JTDS_URL"
}
sc_jtds_self_signed_authenticate() {
    EXPECT="steps 1,2,3,7: TLS handshake inside PRELOGIN packets with the self-signed certificate; the client closes without a Login7; diagnosis certificate_rejected (likely); outcome failed"
    server --encryption off --self-signed
    jdbc_client "$JTDS_URL;ssl=authenticate"
}
sc_jtds_tls10_only() {
    EXPECT="steps 1,2,3,7; server alert protocol_version (70); diagnosis no_common_tls_version + tls_alert, then server_first_fin (the server's FIN after its alert); outcome failed"
    server --encryption off --tls-min 1.0 --tls-max 1.0
    jdbc_client "$JTDS_URL;ssl=require"
}
sc_jtds_no_common_cipher() {
    EXPECT="steps 1,2,3,7; server alert handshake_failure (40); diagnosis no_common_cipher + tls_alert, then server_first_fin (the server's FIN after its alert); outcome failed"
    server --encryption off --ciphers "$NOCIPHER"
    jdbc_client "$JTDS_URL;ssl=require"
}
sc_jtds_reset_after_clienthello() {
    EXPECT="steps 1,2,3,7; server RST right after the ClientHello; diagnoses no_common_cipher (likely: a reset right after a TLS 1.2+ ClientHello) + server_reset; outcome failed"
    server --encryption off --close-after-clienthello rst
    jdbc_client "$JTDS_URL;ssl=require"
}
sc_jtds_login_timeout() {
    EXPECT="steps 1,4,7 (no PRELOGIN): cleartext, Login7 never answered; the client closes after its login timeout (3 s); diagnosis login_timeout + cleartext_login; outcome failed"
    server --encryption off --login7-first --login-no-answer --no-answer-limit 15
    jdbc_client "$JTDS_URL;loginTimeout=3"
}
sc_jtds_server_requires_encryption() {
    EXPECT="steps 1,4,7: a TDS 7.1 Login7 in clear as the first packet, the server's FIN without an answer; diagnoses cleartext_login, server_first_fin; outcome failed"
    server --encryption req
    jdbc_client "$JTDS_URL"
}
sc_jtds_name_mismatch() {
    EXPECT="steps 1-7; encryption full; the certificate's names do not cover 10.10.10.120, yet jTDS connects (it checks the chain only); outcome connected; no failure diagnosis"
    server --encryption off --ca-signed --cert-ip 10.10.10.121
    jdbc_truststore
    JDBC_JVM_ARGS="-Djavax.net.ssl.trustStore=$T/ca.p12 -Djavax.net.ssl.trustStorePassword=changeit" \
        jdbc_client "$JTDS_URL;ssl=authenticate"
}

# ---------------------------------------------------------------------------
# ---- Microsoft's drivers (issue 27): ODBC Driver 18 (through mssql-python) and go-mssqldb
# Clients installed by tests/lab/drivers-deps (not needed by CI). Each writes the
# capture's `driver:`, `connection:` and `error:` lines ($T/report, appended to
# captures/NAME.txt by run): the driver's own message verbatim.
ODBC18_PY="$LAB/.venv-odbc18/bin/python"
GO_CLIENT="$LAB/go/bin/mssqldb-client"

v_odbc18() {
    "$ODBC18_PY" -c 'from importlib import metadata as m
print("Microsoft ODBC Driver 18 for SQL Server (mssql-python-odbc %s) via mssql-python %s (CPython %s)" % (m.version("mssql-python-odbc"), m.version("mssql-python"), __import__("platform").python_version()))' 2>/dev/null \
        || echo "Microsoft ODBC Driver 18 via mssql-python"
}
v_go() {
    local v
    v=$(go version -m "$GO_CLIENT" 2>/dev/null | awk '$2 == "github.com/microsoft/go-mssqldb" {print $3}')
    echo "go-mssqldb ${v:-?} ($(go version -m "$GO_CLIENT" 2>/dev/null | head -1 | awk '{print $2}'), crypto/tls; tests/lab/go)"
}

# odbc18_client ARGS... (see mssql_python_client.py: --set KEY=VALUE, --login-timeout S)
# ODBC18_TRUST_LAB_CA=1: the driver's OpenSSL trusts the lab CA (SSL_CERT_FILE, OpenSSL's
# default verify path), as a machine whose store holds the CA that signed the server's certificate
odbc18_client() {
    [ -x "$ODBC18_PY" ] || die "mssql-python missing: tests/lab/drivers-deps odbc18"
    note_client "$(v_odbc18)"
    echo "--- odbc18 $*" >> "$T/clients.log"
    local trust=()
    if [ -n "${ODBC18_TRUST_LAB_CA:-}" ]; then
        trust=(SSL_CERT_FILE="$T/ca.pem")
        note "the ODBC driver's OpenSSL trusts the lab CA only: SSL_CERT_FILE=the lab CA in the client's environment"
    fi
    in_client env MSSQL_PYTHON_NATIVE_PROVIDER=msodbcsql18 "${trust[@]}" timeout "${CLIENT_TIMEOUT:-40}" "$ODBC18_PY" \
        "$LAB/mssql_python_client.py" --server "$SERVER_IP" --port "$PORT" --report "$T/report" "$@" \
        >> "$T/clients.log" 2>&1
    echo "--- odbc18 exit $?" >> "$T/clients.log"
}

# go_client 'QUERY-STRING' (go-mssqldb URL options after '?', e.g. encrypt=true&TrustServerCertificate=true)
go_client() {
    [ -x "$GO_CLIENT" ] || die "go-mssqldb client missing: tests/lab/drivers-deps go"
    note_client "$(v_go)"
    echo "--- go $1" >> "$T/clients.log"
    in_client timeout "${CLIENT_TIMEOUT:-40}" "$GO_CLIENT" -report "$T/report" \
        -dsn "sqlserver://sa:$PASSWORD@$SERVER_IP:$PORT${1:+?$1}" >> "$T/clients.log" 2>&1
    echo "--- go exit $?" >> "$T/clients.log"
}

# ODBC Driver 18: Encrypt=no (Optional) sends ENCRYPT_OFF (login-only TLS when the server has a
# certificate), yes/mandatory ENCRYPT_ON, strict TDS 8.0; the default is Encrypt=yes with
# TrustServerCertificate=no. go-mssqldb: encrypt=disable sends ENCRYPT_NOT_SUP, the default
# (encrypt=false) ENCRYPT_OFF, encrypt=true ENCRYPT_ON, encrypt=strict TDS 8.0.
LAB_CN=labsql.tdsdiag.test   # the name in tds_server.py's certificate (--cert-cn default)
odbc18_validated() { ODBC18_TRUST_LAB_CA=1 odbc18_client --set "HostNameInCertificate=$LAB_CN" "$@"; }
go_validated() { go_client "certificate=$T/ca.pem&hostNameInCertificate=$LAB_CN${1:+&$1}"; }

SCENARIOS+=(
"odbc18-login-only-tls|ODBC Driver 18 with Encrypt=no (prelogin ENCRYPTION 0), server ENCRYPT_OFF with its self-signed certificate: TLS 1.2 inside prelogin packets, not verified (Encrypt=no), Login7 as TLS application data, login response and select 1 in clear, FIN close by the client"
"odbc18-full-tls|ODBC Driver 18 with Encrypt=yes, the lab CA trusted (SSL_CERT_FILE) and HostNameInCertificate=labsql.tdsdiag.test, server ENCRYPT_OFF with a lab-CA certificate: full TLS 1.2, certificate verified, login and select 1 as TLS application data, FIN close by the client"
"odbc18-strict|ODBC Driver 18 with Encrypt=strict (TDS 8.0), the lab CA trusted and HostNameInCertificate=labsql.tdsdiag.test, server --strict: TLS 1.3 ClientHello (ALPN tds/8.0) right after the TCP handshake, then PRELOGIN, Login7, login response and select 1 inside TLS, FIN close by the client"
"odbc18-self-signed-default|ODBC Driver 18 with its default settings (no Encrypt keyword: Encrypt=yes, TrustServerCertificate=no), server with a self-signed certificate (SQL Server's default): PRELOGIN ENCRYPTION 1, TLS 1.2 ClientHello; the driver rejects the certificate right after the server's flight and closes with FIN, no alert ('certificate verify failed:self-signed certificate')"
"odbc18-cert-name-mismatch|ODBC Driver 18 with Encrypt=yes, the lab CA trusted (SSL_CERT_FILE), connecting to the IP address 10.10.10.120 while the lab-CA certificate names labsql.tdsdiag.test and 10.10.10.121 (tds_server.py --cert-ip 10.10.10.121): the driver rejects it after the server's flight and closes with FIN, no alert ('subject name does not match host name')"
"odbc18-tls10-only|ODBC Driver 18 with Encrypt=yes;TrustServerCertificate=yes, server capped at TLS 1.0 (--tls-max 1.0): the driver's ClientHello offers TLS 1.0 to 1.3, the server answers ServerHello TLS 1.0 with its ServerKeyExchange signed the TLS 1.0 way (MD5+SHA-1); the driver's OpenSSL 3 refuses that signature ('legacy sigalg disallowed or unsupported') and closes with FIN, no alert"
"odbc18-no-common-cipher|ODBC Driver 18 with Encrypt=yes;TrustServerCertificate=yes, server allows only CAMELLIA suites (TLS 1.2 at most): the server answers the ClientHello with a fatal alert handshake_failure"
"odbc18-login-failed-state8|ODBC Driver 18 with Encrypt=yes;TrustServerCertificate=yes (full TLS 1.2): the login response, as TLS application data, carries ERROR 18456 state 8 'Login failed for user 'sa'.'; the driver closes; the server's TLS key log in captures/odbc18-login-failed-state8.keys"
"odbc18-login-failed-state5|ODBC Driver 18 with Encrypt=no (login-only TLS): the login response in clear carries ERROR 18456 state 5 'Login failed for user 'sa'.'; the driver closes"
"odbc18-reset-after-clienthello|ODBC Driver 18 with Encrypt=yes;TrustServerCertificate=yes: the server resets the connection (RST) right after reading the ClientHello"
"odbc18-login-timeout|ODBC Driver 18 with Encrypt=yes;TrustServerCertificate=yes and a 3 s login timeout (SQL_ATTR_LOGIN_TIMEOUT): full TLS, the server never answers the Login7; the driver gives up after its timeout"
"odbc18-cleartext|ODBC Driver 18 with Encrypt=no, server without a certificate (ENCRYPT_NOT_SUP): no TLS at all, Login7 in clear, select 1, FIN close by the client"
"go-login-only-tls|go-mssqldb with its default settings (encrypt=false: prelogin ENCRYPTION 0), server ENCRYPT_OFF with its self-signed certificate: TLS 1.2 inside prelogin packets, certificate not verified, Login7 as TLS application data, login response and select 1 in clear, FIN close by the client"
"go-full-tls|go-mssqldb with encrypt=true, certificate=the lab CA and hostNameInCertificate=labsql.tdsdiag.test, server with a lab-CA certificate: full TLS 1.2, certificate verified, login and select 1 as TLS application data, FIN close by the client"
"go-strict|go-mssqldb with encrypt=strict (TDS 8.0), certificate=the lab CA and hostNameInCertificate=labsql.tdsdiag.test, server --strict: TLS 1.3 ClientHello right after the TCP handshake, then PRELOGIN, Login7, login response and select 1 inside TLS, FIN close by the client"
"go-self-signed-encrypt-true|go-mssqldb with encrypt=true (no certificate option: the system roots), server with a self-signed certificate: TLS 1.2 inside prelogin packets; Go rejects the certificate after the server's flight and closes with FIN ('x509: certificate signed by unknown authority')"
"go-cert-name-mismatch|go-mssqldb with encrypt=true and certificate=the lab CA, connecting to the IP address 10.10.10.120 while the lab-CA certificate names labsql.tdsdiag.test and 10.10.10.121 (tds_server.py --cert-ip 10.10.10.121): Go rejects it after the server's flight and closes with FIN"
"go-tls10-only|go-mssqldb with encrypt=true&TrustServerCertificate=true, server capped at TLS 1.0 (--tls-max 1.0): Go's ClientHello offers TLS 1.2 and 1.3 only; the server's OpenSSL answers with a fatal alert protocol_version"
"go-no-common-cipher|go-mssqldb with encrypt=true&TrustServerCertificate=true, server allows only CAMELLIA suites (TLS 1.2 at most): the server answers the ClientHello with a fatal alert handshake_failure"
"go-login-failed-state8|go-mssqldb with its defaults (login-only TLS): the login response in clear carries ERROR 18456 state 8 'Login failed for user 'sa'.'"
"go-login-failed-state5|go-mssqldb with encrypt=disable (cleartext): ERROR 18456 state 5 'Login failed for user 'sa'.'"
"go-reset-after-clienthello|go-mssqldb with encrypt=true&TrustServerCertificate=true: the server resets the connection (RST) right after reading the ClientHello"
"go-login-timeout|go-mssqldb with encrypt=true&TrustServerCertificate=true and connection timeout=3: full TLS, the server never answers the Login7; the driver gives up after 3 s"
"go-cleartext|go-mssqldb with encrypt=disable (prelogin ENCRYPTION 2), server ENCRYPT_NOT_SUP: no TLS at all, Login7 in clear, select 1, FIN close by the client"
)

sc_odbc18_login_only_tls() {
    EXPECT="steps 1-7; encryption login_only (TLS 1.2); outcome connected; no failure diagnosis"
    server --encryption off --self-signed
    odbc18_client --set Encrypt=no
}
sc_odbc18_full_tls() {
    EXPECT="steps 1-7; encryption full (TLS 1.2); outcome connected; no failure diagnosis"
    server --encryption off --ca-signed
    odbc18_validated --set Encrypt=yes
}
sc_odbc18_strict() {
    EXPECT="TDS 8.0; steps 1,3 then everything inside TLS; encryption strict (TLS 1.3); no failure diagnosis"
    server --strict --ca-signed
    odbc18_validated --set Encrypt=strict
}
sc_odbc18_self_signed_default() {
    EXPECT="steps 1,2,3,7; self-signed certificate; client FIN right after the server's flight, no alert; diagnosis certificate_rejected (self-signed); outcome failed"
    server --encryption off --self-signed
    odbc18_client
}
sc_odbc18_cert_name_mismatch() {
    EXPECT="steps 1,2,3,7; lab-CA certificate for labsql.tdsdiag.test and 10.10.10.121, client connected to 10.10.10.120; client FIN right after the server's flight, no alert; diagnosis certificate_rejected (likely); outcome failed"
    server --encryption off --ca-signed --cert-ip 10.10.10.121
    ODBC18_TRUST_LAB_CA=1 odbc18_client --set Encrypt=yes
}
sc_odbc18_tls10_only() {
    EXPECT="steps 1,2,3,7; ServerHello TLS 1.0, then client FIN without its ClientKeyExchange, no alert; outcome failed; the diagnosis should point at the old TLS version (likely), not at a certificate"
    server --encryption off --tls-max 1.0
    odbc18_client --set Encrypt=yes --set TrustServerCertificate=yes
}
sc_odbc18_no_common_cipher() {
    EXPECT="steps 1,2,3,7; server alert handshake_failure after the ClientHello; diagnosis no_common_cipher + tls_alert; outcome failed"
    server --encryption off --ciphers "$NOCIPHER"
    odbc18_client --set Encrypt=yes --set TrustServerCertificate=yes
}
sc_odbc18_login_failed_state8() {
    EXPECT="steps 1-5,7; encryption full (TLS 1.2): the login response is TLS application data; with the key log (captures/odbc18-login-failed-state8.keys, written by the server) ERROR 18456 state 8 class 14, diagnosis login_failed, outcome login_failed; without it the outcome cannot be read from the packets"
    keylog server
    server --encryption off --login-error 18456 --error-state 8
    odbc18_client --set Encrypt=yes --set TrustServerCertificate=yes
}
sc_odbc18_login_failed_state5() {
    EXPECT="steps 1-5,7; login-only TLS; ERROR 18456 state 5 class 14 in the login response; diagnosis login_failed; outcome login_failed"
    server --encryption off --login-error 18456 --error-state 5
    odbc18_client --set Encrypt=no
}
sc_odbc18_reset_after_clienthello() {
    EXPECT="steps 1,2,3,7; server RST right after the ClientHello; diagnosis server_reset during the TLS handshake; outcome failed"
    server --encryption off --close-after-clienthello rst
    odbc18_client --set Encrypt=yes --set TrustServerCertificate=yes
}
sc_odbc18_login_timeout() {
    EXPECT="steps 1-4,7: full TLS, Login7 sent as application data, never answered; the client closes after about 3 s; diagnosis login_timeout; outcome failed"
    server --encryption off --login-no-answer --no-answer-limit 20
    odbc18_client --set Encrypt=yes --set TrustServerCertificate=yes --login-timeout 3
}
sc_odbc18_cleartext() {
    EXPECT="steps 1,2,4,5,6,7; encryption none; outcome connected; diagnosis cleartext_login"
    server --encryption not_sup
    odbc18_client --set Encrypt=no
}

sc_go_login_only_tls() {
    EXPECT="steps 1-7; encryption login_only (TLS 1.2); outcome connected; no failure diagnosis"
    server --encryption off --self-signed
    go_client ""
}
sc_go_full_tls() {
    EXPECT="steps 1-7; encryption full (TLS 1.2); outcome connected; no failure diagnosis"
    server --encryption off --ca-signed
    go_validated "encrypt=true"
}
sc_go_strict() {
    EXPECT="TDS 8.0; steps 1,3 then everything inside TLS; encryption strict (TLS 1.3); no failure diagnosis"
    server --strict --ca-signed
    go_validated "encrypt=strict"
}
sc_go_self_signed_encrypt_true() {
    EXPECT="steps 1,2,3,7; self-signed certificate; client FIN after the server's flight, no alert; diagnosis certificate_rejected (self-signed); outcome failed"
    server --encryption off --self-signed
    go_client "encrypt=true"
}
sc_go_cert_name_mismatch() {
    EXPECT="steps 1,2,3,7; lab-CA certificate for labsql.tdsdiag.test and 10.10.10.121, client connected to 10.10.10.120; client FIN after the server's flight, no alert; diagnosis certificate_rejected (likely); outcome failed"
    server --encryption off --ca-signed --cert-ip 10.10.10.121
    go_client "encrypt=true&certificate=$T/ca.pem"
}
sc_go_tls10_only() {
    EXPECT="steps 1,2,3,7; server alert protocol_version after a ClientHello without TLS 1.0; diagnosis tls_version_mismatch + tls_alert; outcome failed"
    server --encryption off --tls-max 1.0
    go_client "encrypt=true&TrustServerCertificate=true"
}
sc_go_no_common_cipher() {
    EXPECT="steps 1,2,3,7; server alert handshake_failure after the ClientHello; diagnosis no_common_cipher + tls_alert; outcome failed"
    server --encryption off --ciphers "$NOCIPHER"
    go_client "encrypt=true&TrustServerCertificate=true"
}
sc_go_login_failed_state8() {
    EXPECT="steps 1-5,7; login-only TLS; ERROR 18456 state 8 class 14; diagnosis login_failed; outcome login_failed"
    server --encryption off --login-error 18456 --error-state 8
    go_client ""
}
sc_go_login_failed_state5() {
    EXPECT="steps 1,2,4,5,7; cleartext; ERROR 18456 state 5 class 14; diagnosis login_failed + cleartext_login; outcome login_failed"
    server --encryption not_sup --login-error 18456 --error-state 5
    go_client "encrypt=disable"
}
sc_go_reset_after_clienthello() {
    EXPECT="steps 1,2,3,7; server RST right after the ClientHello; diagnosis server_reset during the TLS handshake; outcome failed"
    server --encryption off --close-after-clienthello rst
    go_client "encrypt=true&TrustServerCertificate=true"
}
sc_go_login_timeout() {
    EXPECT="steps 1-4,7: full TLS, Login7 sent as application data, never answered; the client closes after about 3 s; diagnosis login_timeout; outcome failed"
    server --encryption off --login-no-answer --no-answer-limit 20
    go_client "encrypt=true&TrustServerCertificate=true&connection+timeout=3"
}
sc_go_cleartext() {
    EXPECT="steps 1,2,4,5,6,7; encryption none; outcome connected; diagnosis cleartext_login"
    server --encryption not_sup
    go_client "encrypt=disable"
}

# ---------------------------------------------------------------------------
# ---- the clients' TLS policy (issue 28, item 3) -------------------------------
# tls-policy-probe is not a capture of captures/: tests/lab/tls-policy-matrix runs
# it once per client x weakness x validation (PROBE_CLIENT, PROBE_WEAK,
# PROBE_VALIDATE=on|off) with TDSLAB_OUT elsewhere, and reads each capture.
# Weaknesses: sha1, md5 (CA-signed leaf signed with that hash), md5-self (a
# self-signed MD5 leaf; validation on trusts that very certificate), rsa1024 (a
# CA-signed leaf with a 1024-bit RSA key), dhe1024 (DHE suites only, RFC 5114
# 1024-bit group), tls10, tls11 (the server's only version), baseline (none).
DHE_ONLY="DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA"
policy_server_args() {  # WEAKNESS -> the server's flags for it
    local base=(--encryption on --cert-ip "$SERVER_IP")
    case $1 in
        baseline) echo "${base[*]} --ca-signed" ;;
        sha1|md5) echo "${base[*]} --ca-signed --cert-hash $1" ;;
        md5-self) echo "${base[*]} --self-signed --cert-hash md5 --cert-out $T/server.pem" ;;
        rsa1024) echo "${base[*]} --ca-signed --cert-key-bits 1024" ;;
        dhe1024) echo "${base[*]} --ca-signed --dh-bits 1024 --ciphers $DHE_ONLY" ;;
        tls10) echo "${base[*]} --ca-signed --tls-min 1.0 --tls-max 1.0" ;;
        tls11) echo "${base[*]} --ca-signed --tls-min 1.1 --tls-max 1.1" ;;
        *) die "PROBE_WEAK: unknown weakness '$1'" ;;
    esac
}
# policy_client CLIENT on|off: the client with certificate validation on (the lab CA,
# or for md5-self the server's own certificate, is its only trust) or off (trust any)
policy_client() {
    local trust=$T/ca.pem
    [ "$PROBE_WEAK" = md5-self ] && trust=$T/server.pem
    case $1/$2 in
        pytds/on) pytds_client --cafile "$trust" --no-validate-host ;;
        pytds/off) die "pytds has no TLS without a CA file (use odbc18 for OpenSSL 3 without validation)" ;;
        odbc18/on) ODBC18_TRUST_LAB_CA=1 odbc18_client --set "HostNameInCertificate=$LAB_CN" --set Encrypt=yes ;;
        odbc18/off) odbc18_client --set Encrypt=yes --set TrustServerCertificate=yes ;;
        tedious/on) tedious_client "{\"encrypt\": true, \"trustServerCertificate\": false, \"ca\": \"$trust\"}" ;;
        tedious/off) tedious_client '{"encrypt": true, "trustServerCertificate": true}' ;;
        tsql/on) tsql_client require "ca file = $trust" "check certificate hostname = no" ;;
        tsql/off) tsql_client require ;;
        jdbc/on) jdbc_truststore; jdbc_client "$JDBC_URL;encrypt=true;trustStore=$T/ca.p12;trustStorePassword=changeit;hostNameInCertificate=$LAB_CN" ;;
        jdbc/off) jdbc_client "$JDBC_URL;encrypt=true;trustServerCertificate=true" ;;
        jtds/on) jdbc_truststore
                 JDBC_JVM_ARGS="-Djavax.net.ssl.trustStore=$T/ca.p12 -Djavax.net.ssl.trustStorePassword=changeit" \
                     jdbc_client "$JTDS_URL;ssl=authenticate" ;;
        jtds/off) jdbc_client "$JTDS_URL;ssl=require" ;;
        go/on) go_client "encrypt=true&certificate=$trust&hostNameInCertificate=$LAB_CN" ;;
        go/off) go_client "encrypt=true&TrustServerCertificate=true" ;;
        *) die "PROBE_CLIENT: unknown client '$1'" ;;
    esac
}
SCENARIOS+=(
"tls-policy-probe|(probe, not in captures/: run by tests/lab/tls-policy-matrix) one client (PROBE_CLIENT) against one weakness of the server (PROBE_WEAK), certificate validation PROBE_VALIDATE on or off"
)
sc_tls_policy_probe() {
    : "${PROBE_CLIENT:?}" "${PROBE_WEAK:?}" "${PROBE_VALIDATE:?}"
    EXPECT="probe: $PROBE_CLIENT, $PROBE_WEAK, validation $PROBE_VALIDATE"
    # shellcheck disable=SC2046
    server $(policy_server_args "$PROBE_WEAK")
    [ "$PROBE_WEAK" = md5-self ] && [ "$PROBE_CLIENT" = jdbc ] && [ "$PROBE_VALIDATE" = on ] && cp "$T/server.pem" "$T/ca.pem"
    [ "$PROBE_WEAK" = md5-self ] && [ "$PROBE_CLIENT" = jtds ] && [ "$PROBE_VALIDATE" = on ] && cp "$T/server.pem" "$T/ca.pem"
    [ "$PROBE_WEAK" = md5-self ] && [ "$PROBE_CLIENT" = odbc18 ] && [ "$PROBE_VALIDATE" = on ] && cp "$T/server.pem" "$T/ca.pem"
    policy_client "$PROBE_CLIENT" "$PROBE_VALIDATE"
}

# Captures of the distinct cases the probes found (docs/tls-policy.md): ODBC Driver 18 (its
# OpenSSL 3 refuses a 1024-bit DHE group even without validation, and with validation a
# 1024-bit RSA key and a SHA-1 signature).
SCENARIOS+=(
"policy-odbc18-dhe1024|ODBC Driver 18 with Encrypt=yes and TrustServerCertificate=yes (no validation), server with DHE suites only and a 1024-bit DHE group (RFC 5114): the driver's OpenSSL refuses the ServerKeyExchange ('dh key too small') and closes with FIN right after the server's flight, no alert"
"policy-odbc18-rsa1024|ODBC Driver 18 with Encrypt=yes, the lab CA trusted and HostNameInCertificate, server with a lab-CA certificate (SHA-256) whose RSA key has 1024 bits: the driver's OpenSSL refuses it ('EE certificate key too weak') and closes with FIN right after the server's flight, no alert"
"policy-odbc18-sha1|ODBC Driver 18 with Encrypt=yes, the lab CA trusted and HostNameInCertificate, server with a lab-CA certificate signed with SHA-1: the driver's OpenSSL refuses it ('CA signature digest algorithm too weak') and closes with FIN right after the server's flight, no alert"
)
sc_policy_odbc18_dhe1024() {
    EXPECT="steps 1,2,3,7; a TLS_DHE suite with a 1024-bit group in the ServerKeyExchange; client FIN before its key exchange; diagnoses dhe_cipher, client_tls_policy (DHE group of 1024 bits), not certificate_rejected; outcome failed"
    server --encryption off --ca-signed --dh-bits 1024 --ciphers "$DHE_ONLY"
    odbc18_client --set Encrypt=yes --set TrustServerCertificate=yes
}
sc_policy_odbc18_rsa1024() {
    EXPECT="steps 1,2,3,7; lab-CA certificate with a 1024-bit RSA key; client FIN before its key exchange; diagnoses client_tls_policy (RSA key of 1024 bits) and certificate_rejected; outcome failed"
    server --encryption off --ca-signed --cert-key-bits 1024
    odbc18_validated --set Encrypt=yes
}
sc_policy_odbc18_sha1() {
    EXPECT="steps 1,2,3,7; lab-CA certificate signed with SHA-1; client FIN before its key exchange; diagnoses weak_cert_hash (warning, on the certificate), client_tls_policy (SHA-1) and certificate_rejected; outcome failed"
    server --encryption off --ca-signed --cert-hash sha1
    odbc18_validated --set Encrypt=yes
}

# ---- TDS 8.0 strict on one side only (issue 28, item 2) -----------------------
# Our script plays a server without TDS 8.0 (--server-version 15.0.4123: SQL Server 2019, no --strict):
# a strict client's ClientHello is read as a TDS packet that is not a PRELOGIN, then closed (FIN) or,
# with --non-prelogin-answer prelogin-reply, answered with a TDS PRELOGIN response. And a server
# requiring strict encryption (--strict, like Force Strict Encryption) closes a PRELOGIN with FIN.
SCENARIOS+=(
"odbc18-strict-old-server|ODBC Driver 18 with Encrypt=strict (lab CA trusted, HostNameInCertificate=labsql.tdsdiag.test) against tds_server.py playing SQL Server 2019 without TDS 8.0 (--server-version 15.0.4123): the TLS ClientHello (ALPN tds/8.0) right after the TCP handshake; the server reads it as a TDS packet that is not a PRELOGIN and closes with FIN"
"go-strict-old-server-tds-answer|go-mssqldb with encrypt=strict (lab CA, hostNameInCertificate) against tds_server.py playing SQL Server 2019 without TDS 8.0 (--server-version 15.0.4123 --non-prelogin-answer prelogin-reply): the server answers the TLS ClientHello with a TDS PRELOGIN response (VERSION 15.0.4123), which the client's TLS cannot read"
"jdbc-strict-old-server-silent|Microsoft JDBC Driver 13.2 with encrypt=strict (trustStore = the lab CA, hostNameInCertificate) against tds_server.py playing SQL Server 2019 without TDS 8.0 (--server-version 15.0.4123 --non-prelogin-answer prelogin-reply): the script reads the 454-byte TLS record as a TDS header announcing 769 bytes and waits for the rest, so the server stays silent; the driver waits too, and the lab's 40 s client timeout stops it (FIN from the client's kernel)"
"odbc18-server-requires-strict|ODBC Driver 18 with Encrypt=yes (TDS 7.x: PRELOGIN first) against tds_server.py --strict (TDS 8.0 only, like Force Strict Encryption): the server closes with FIN right after the PRELOGIN without answering it"
"go-server-requires-strict|go-mssqldb with encrypt=true (TDS 7.x: PRELOGIN first) against tds_server.py --strict (TDS 8.0 only, like Force Strict Encryption): the server closes with FIN right after the PRELOGIN without answering it"
)

sc_odbc18_strict_old_server() {
    EXPECT="steps 1,3,7: ClientHello with ALPN tds/8.0 right after the TCP handshake, no ServerHello, server FIN; diagnosis strict_encryption_mismatch; outcome failed"
    server --server-version 15.0.4123 --ca-signed
    odbc18_validated --set Encrypt=strict
}
sc_go_strict_old_server_tds_answer() {
    EXPECT="steps 1,3,...: ClientHello with ALPN tds/8.0 right after the TCP handshake, answered by a TDS PRELOGIN response (VERSION 15.0.4123) instead of a ServerHello; diagnosis strict_encryption_mismatch naming SQL Server 2019 without TDS 8.0; outcome failed"
    server --server-version 15.0.4123 --ca-signed --non-prelogin-answer prelogin-reply --idle-limit 10
    go_validated "encrypt=strict"
}
sc_jdbc_strict_old_server_silent() {
    EXPECT="steps 1,3,7: ClientHello with ALPN tds/8.0 right after the TCP handshake, no answer from the server, the client's FIN after about 34 s; diagnosis strict_encryption_mismatch (silence, likely); outcome failed"
    server --server-version 15.0.4123 --ca-signed --non-prelogin-answer prelogin-reply --idle-limit 10
    jdbc_truststore
    jdbc_client "$JDBC_URL;encrypt=strict;trustStore=$T/ca.p12;trustStorePassword=changeit;hostNameInCertificate=labsql.tdsdiag.test"
}
sc_odbc18_server_requires_strict() {
    EXPECT="steps 1,2,7: PRELOGIN, then the server's FIN without an answer; diagnosis strict_encryption_mismatch (likely, server_requires_strict); outcome failed"
    server --strict --ca-signed
    odbc18_validated --set Encrypt=yes
}
sc_go_server_requires_strict() {
    EXPECT="steps 1,2,7: PRELOGIN, then the server's FIN without an answer; diagnosis strict_encryption_mismatch (likely, server_requires_strict); outcome failed"
    server --strict --ca-signed
    go_validated "encrypt=true"
}

# ---- before and beneath the connection (issue 31): name resolution, listeners with several
# addresses, path MTU.  lab_resolver (from a setup_ function): Debian's dnsmasq in the server
# namespace on an address of its own, RESOLVER_IP, authoritative for lab.test (--local=/lab.test/:
# a name it has no record of gets NXDOMAIN, never forwarded); the client namespace's resolv.conf
# (/etc/netns/<client namespace>/, bind-mounted by ip netns exec) names it, its hosts file only
# localhost; glibc's stub resolver in the clients asks it (A and AAAA in parallel, timeout 5 s).
# Extra records: RESOLVER_RECORDS ("name,address" host-record lines, several for one name give
# several addresses). The capture filter adds port 53 of the resolver.
RESOLVER_IP=10.10.10.53
LAB_NAME=sql.lab.test
lab_resolver() {
    command -v dnsmasq >/dev/null || die "dnsmasq missing: apt-get install dnsmasq-base"
    ip -n "$NSS" addr add "$RESOLVER_IP/24" dev eth0 || return 1
    local rec args=()
    for rec in ${RESOLVER_RECORDS:-$LAB_NAME,$SERVER_IP}; do args+=(--host-record="$rec"); done
    in_server dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces \
        --listen-address="$RESOLVER_IP" --except-interface=lo --local=/lab.test/ --log-queries \
        --log-facility="$T/dnsmasq.log" --pid-file="$T/dnsmasq.pid" --user=root \
        --cache-size=0 "${args[@]}" >>"$T/server.log" 2>&1 &
    mkdir -p "/etc/netns/$NSC"
    echo "nameserver $RESOLVER_IP" > "/etc/netns/$NSC/resolv.conf"
    # localhost and the machine's own name (the JVM looks it up): only lab.test goes to the resolver
    printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$(hostname)" > "/etc/netns/$NSC/hosts"
    local i
    for i in $(seq 1 50); do
        in_client getent ahostsv4 "$LAB_NAME" >/dev/null 2>&1 && break
        sleep 0.1
    done
    in_client getent ahostsv4 "$LAB_NAME" >/dev/null 2>&1 || return 1
    CAP_FILTER="((host $SERVER_IP${EXTRA_HOSTS:+ or host ${EXTRA_HOSTS// / or host }}) and (tcp port $PORT or udp port 1434 or icmp)) or (host $RESOLVER_IP and port 53)"
    note "resolver: dnsmasq $(dnsmasq --version | awk 'NR==1 {print $3}') (Debian) on $RESOLVER_IP:53 in the server namespace, --local=/lab.test/ --no-resolv --cache-size=0, records ${RESOLVER_RECORDS:-$LAB_NAME,$SERVER_IP}; client namespace: resolv.conf 'nameserver $RESOLVER_IP' and a hosts file with localhost and the machine's own name only (/etc/netns/<client namespace>/)"
}

SCENARIOS+=(
"dns-nxdomain|tsql with host = sqlx.lab.test (a typo of sql.lab.test): glibc's resolver asks dnsmasq (the lab's resolver, authoritative for lab.test) for A and AAAA, both answered NXDOMAIN (No such name); tsql fails without any TCP connection"
"dns-aaaa-stall|tsql with host = sql.lab.test; iptables in the server namespace drops the first AAAA query that reaches the resolver (u32 match on the query type 28, statistic nth): glibc sends A and AAAA in parallel, the A answer comes at once, the AAAA answer only after glibc's 5 s timeout and its second try; then a cleartext login, select 1, FIN"
"dns-two-addresses-one-dead|the resolver gives two addresses for sql.lab.test, 10.10.10.121 and 10.10.10.120; nftables in the server namespace drops every packet to 10.10.10.121 (the listener's address in a failed subnet); tsql (FreeTDS 1.3 connects to all addresses of a name at once, non-blocking) sends a SYN to each within a millisecond; 10.10.10.120 answers and tsql logs in (cleartext, select 1, FIN), the SYN to 10.10.10.121 stays unanswered and FreeTDS drops that attempt without a packet"
"pmtu-black-hole|a router namespace between client and server whose link to the server has MTU 1200 (router's eth1; the server's eth0 stays at 1500) and whose nftables drop every ICMP it would send (no fragmentation needed ever reaches the client): tsql (cleartext) logs in with small segments, then sends a 6 KB SQL batch in full-size segments (1448 bytes of payload, MSS 1460 on both ends); those are dropped by the router and retransmitted again and again without acknowledgement until tsql is stopped"
"pmtu-icmp-dropped-by-sender|a router namespace between client and server whose link to the client has MTU 1200 (router's eth0); tsql (cleartext) logs in and asks for a large result (2,000 rows, --result-rows): the server's 1448-byte segments do not fit, the router answers each with ICMP fragmentation needed (type 3 code 4, next-hop MTU 1200), but nftables in the server's own namespace (input chain) drop that ICMP, so the server sends the same full-size segment again and again until tsql is stopped; captured in the router on its link to the server (eth1), where the ICMP is seen before the server's firewall drops it"
"pmtu-icmp-honoured|as pmtu-icmp-dropped-by-sender without the server's firewall: the router's ICMP fragmentation needed (next-hop MTU 1200) reaches the server, whose kernel lowers the connection's segment size (path MTU discovery) and resends the data in 1148-byte segments; the client gets the whole result; no failure"
)

setup_dns_nxdomain() { lab_resolver; }
sc_dns_nxdomain() {
    EXPECT="no TCP connection: DNS queries A and AAAA for sqlx.lab.test answered NXDOMAIN; tsql fails; diagnosis dns_failed on the answers"
    NO_SERVER="only the resolver answers: the client never reaches a TDS server"
    SERVER_ARGS=""
    tsql_client off "host = sqlx.lab.test"
    tsql_report "host = sqlx.lab.test, port = 1433, encryption = off, tds version = 7.4"
}

setup_dns_aaaa_stall() { lab_resolver; }
sc_dns_aaaa_stall() {
    EXPECT="DNS A answered at once, AAAA answered about 5 s later (first AAAA query dropped, glibc's second try answered); then steps 1,2,4,5,6,7 cleartext; diagnosis dns_slow (AAAA) + cleartext_login; outcome connected"
    in_server iptables -A INPUT -d "$RESOLVER_IP" -p udp --dport 53 -m u32 --u32 "0>>22&0x3C@32&0xFFFF=28" \
        -m statistic --mode nth --every 1000 --packet 0 -j DROP || die "iptables failed"
    note "iptables -A INPUT -d $RESOLVER_IP -p udp --dport 53 -m u32 --u32 '0>>22&0x3C@32&0xFFFF=28' -m statistic --mode nth --every 1000 --packet 0 -j DROP in the server namespace (the first query of type AAAA for a name of the length of sql.lab.test is dropped)"
    server --encryption not_sup
    tsql_client off "host = $LAB_NAME"
    tsql_report "host = $LAB_NAME, port = 1433, encryption = off, tds version = 7.4"
}

setup_dns_two_addresses_one_dead() {
    EXTRA_HOSTS=10.10.10.121
    RESOLVER_RECORDS="$LAB_NAME,10.10.10.121 $LAB_NAME,$SERVER_IP"
    lab_resolver || return 1
    ip -n "$NSS" addr add 10.10.10.121/24 dev eth0 || return 1
    in_server nft -f - <<'NFT' || return 1
table ip lab {
    chain input {
        type filter hook input priority 0; policy accept;
        ip daddr 10.10.10.121 drop
    }
}
NFT
    note "10.10.10.121/24 added to the server namespace; nft table ip lab, chain input: ip daddr 10.10.10.121 drop"
}
sc_dns_two_addresses_one_dead() {
    EXPECT="DNS A answer with 10.10.10.121 and 10.10.10.120; SYNs to both at once; the one to 10.10.10.121 unanswered (a parallel attempt whose sibling to the name's other address answered: not a failure of the application); steps 1,2,4,5,6,7 to 10.10.10.120, cleartext; outcome connected"
    server --encryption not_sup
    tsql_client off "host = $LAB_NAME" "connect timeout = 4"
    tsql_report "host = $LAB_NAME, port = 1433, encryption = off, tds version = 7.4, connect timeout = 4"
}

setup_pmtu_black_hole() {
    lab_router || return 1
    in_router ip link set eth1 mtu 1200 || return 1
    # TSO/GSO off on the client: the capture shows the segments as they leave
    in_client ethtool -K eth0 tso off gso off >/dev/null 2>&1 || true
    in_router nft -f - <<'NFT' || return 1
table ip lab {
    chain output {
        type filter hook output priority 0; policy accept;
        ip protocol icmp drop
    }
}
NFT
    note "in the router: its link to the server (eth1) at MTU 1200, the server's own eth0 at 1500 (MSS 1460 both ways); nft table ip lab, chain output: ip protocol icmp drop (the router's fragmentation-needed messages never leave); client: ethtool -K eth0 tso off gso off"
}
sc_pmtu_black_hole() {
    EXPECT="steps 1,2,4,5,6 cleartext: login and select 1 in small segments; then a SQL batch of about 6 KB sent in 1448-byte segments, none acknowledged, retransmitted until tsql is stopped; diagnosis path_mtu_black_hole (largest size through: the login's, fix MSS clamping / Packet Size / MTU)"
    server --encryption not_sup
    local pad i
    pad=$(for i in 1 2 3 4 5 6; do printf "'%s' as c$i, " "$(head -c 1000 /dev/zero | tr '\0' x)"; done)
    CLIENT_TIMEOUT=12 TSQL_PAUSE=1 TSQL_QUERY_AFTER="select ${pad}1 as c0\ngo\n" tsql_client off
    note "tsql: select 1, then 1 s later a select of six 1000-character literals (about 6 KB)"
    tsql_report "host = $SERVER_IP, port = 1433, encryption = off, tds version = 7.4"
    sed -i "s/^error: (none, connected)$/error: (none: tsql waited for the batch's answer until stopped by timeout ${CLIENT_TIMEOUT:-12} s after its start)/" "$T/report"
}

# The ICMP form (issue 31): the router sends its fragmentation-needed messages; whether the server's
# own firewall lets them in decides between a black hole and path MTU discovery at work. The capture
# runs in the router, on its link to the server (eth1): the ICMP is there before the server drops it.
pmtu_icmp_path() {
    lab_router || return 1
    in_router ip link set eth0 mtu 1200 || return 1
    # TSO/GSO off on the server and GRO off on the router: the capture shows the segments as sent
    in_server ethtool -K eth0 tso off gso off >/dev/null 2>&1 || true
    in_router ethtool -K eth1 gro off >/dev/null 2>&1 || true
    CAP_NS=$NSR; CAP_NS_WHAT=router; CAP_IFACE=eth1
    note "in the router: its link to the client (eth0) at MTU 1200, the client's own eth0 and the server's at 1500 (MSS 1460 both ways); the router's ICMP is not filtered; server: ethtool -K eth0 tso off gso off; router: ethtool -K eth1 gro off; capture in the router namespace on eth1 (its link to the server)"
}
setup_pmtu_icmp_dropped_by_sender() {
    pmtu_icmp_path || return 1
    in_server nft -f - <<'NFT' || return 1
table ip lab {
    chain input {
        type filter hook input priority 0; policy accept;
        icmp type destination-unreachable icmp code frag-needed drop
    }
}
NFT
    note "server namespace: nft table ip lab, chain input: icmp type destination-unreachable icmp code frag-needed drop (the server's host firewall never lets the router's message in)"
}
sc_pmtu_icmp_dropped_by_sender() {
    EXPECT="steps 1,2,4,5,6 cleartext: login and select 1 in small segments; then select n answered by 2,000 rows: the server's 1448-byte segments are answered by the router's ICMP fragmentation needed (MTU 1200), which the server's firewall drops: the same segment is sent again and again without acknowledgement until tsql is stopped; diagnosis path_mtu_black_hole (ICMP form, MTU 1200)"
    server --encryption not_sup --result-rows 2000
    CLIENT_TIMEOUT=12 TSQL_PAUSE=1 TSQL_QUERY_AFTER="select n\ngo\n" tsql_client off
    note "tsql: select 1, then 1 s later select n (2,000 rows of one INT column, --result-rows 2000)"
    tsql_report "host = $SERVER_IP, port = 1433, encryption = off, tds version = 7.4"
    sed -i "s/^error: (none, connected)$/error: (none: tsql waited for the result until stopped by timeout ${CLIENT_TIMEOUT:-12} s after its start)/" "$T/report"
}
setup_pmtu_icmp_honoured() { pmtu_icmp_path; }
sc_pmtu_icmp_honoured() {
    EXPECT="steps 1,2,4,5,6,7 cleartext: login and select 1; then select n answered by 2,000 rows: the first 1448-byte segment is answered by the router's ICMP fragmentation needed (MTU 1200), the server resends in 1148-byte segments (path MTU discovery), tsql gets every row and closes; no failure"
    server --encryption not_sup --result-rows 2000
    TSQL_PAUSE=1 TSQL_QUERY_AFTER="select n\ngo\n" tsql_client off
    note "tsql: select 1, then 1 s later select n (2,000 rows of one INT column, --result-rows 2000)"
    tsql_report "host = $SERVER_IP, port = 1433, encryption = off, tds version = 7.4"
}

# tsql_report "freetds.conf lines": driver:, connection: and error: lines for the last tsql run
# (error: tsql's messages verbatim, lines joined with " | "; "(none, connected)" without them)
tsql_report() {
    local err
    err=$(tr -d '\r' < "$T/clients.log" | tac | sed '/^--- tsql (/q' | tac \
        | grep -vE '^(--- tsql|locale is|locale charset|using default charset|[0-9]+> |\([0-9]+ rows? affected\)|[0-9]+$|$)' \
        | sed 's/^[[:space:]]*//' | paste -sd'|' | sed 's/|/ | /g')
    provenance_line driver "$(v_tsql)"
    provenance_line connection "tsql -S lab -U sa -P ***, freetds.conf [lab]: $1"
    provenance_line error "${err:-(none, connected)}"
}

SCENARIOS+=(
"jdbc-multisubnet-failover|as dns-two-addresses-one-dead (sql.lab.test resolves to 10.10.10.121, dropped by nftables, and 10.10.10.120) with Microsoft JDBC Driver 13.2, multiSubnetFailover=true, encrypt=false: the driver opens connections to both addresses in parallel; 10.10.10.120 answers and the driver logs in on it (login-only TLS, select 1), the attempt to 10.10.10.121 is abandoned"
)
setup_jdbc_multisubnet_failover() { setup_dns_two_addresses_one_dead; }
sc_jdbc_multisubnet_failover() {
    EXPECT="DNS A answer with 10.10.10.121 and 10.10.10.120; SYNs to both at once; the one to 10.10.10.121 unanswered (a parallel attempt, the name's other address answered); steps 1-7 to 10.10.10.120, login-only TLS; outcome connected"
    server --encryption off
    jdbc_client "jdbc:sqlserver://$LAB_NAME:$PORT;encrypt=false;multiSubnetFailover=true"
}

# ---- several addresses and the name asked through DNS (issues 28 and 31) ----------------------
SCENARIOS+=(
"dns-cert-name-mismatch-rejected|tsql with host = sql.lab.test, resolved by the lab's dnsmasq to 10.10.10.120, encryption = require, ca file = the lab CA (FreeTDS then checks the certificate's names against the host name): the scripted server presents a certificate issued by the lab CA for sqlprod.corp.example only (CN and SAN); FreeTDS sends no SNI, so the name the client asked is only in the DNS query before the connection; tsql rejects the certificate after the server's flight"
"dns-cert-name-mismatch|as dns-cert-name-mismatch-rejected without ca file: tsql (encryption = require, no validation) accepts the certificate for sqlprod.corp.example although it asked for sql.lab.test, logs in inside TLS and runs select 1"
)
setup_dns_cert_name_mismatch_rejected() { lab_resolver; }
sc_dns_cert_name_mismatch_rejected() {
    EXPECT="DNS A answer sql.lab.test -> 10.10.10.120; ClientHello without SNI; steps 1,2,3,7: the client closes after the server's Certificate (names sqlprod.corp.example only); diagnosis certificate_rejected and certificate_name_mismatch (name from the DNS query: sql.lab.test); outcome failed"
    server --encryption on --ca-signed --cert-cn "${MISMATCH_CN:-sqlprod.corp.example}"  # MISMATCH_CN=sql.lab.test: the control run
    tsql_client require "host = $LAB_NAME" "ca file = $T/ca.pem" "check certificate hostname = yes"
    tsql_report "host = $LAB_NAME, port = 1433, encryption = require, tds version = 7.4, ca file = (the lab CA), check certificate hostname = yes"
    provenance_line checked "the ClientHello carries no server_name extension (tshark: tls.handshake.extensions_server_name empty), the DNS query for sql.lab.test is the only place the name asked appears; a control run with the certificate for sql.lab.test (MISMATCH_CN=sql.lab.test, not kept) connected with the same freetds.conf, so the rejection is the name's"
}
setup_dns_cert_name_mismatch() { lab_resolver; }
sc_dns_cert_name_mismatch() {
    EXPECT="DNS A answer sql.lab.test -> 10.10.10.120; ClientHello without SNI; steps 1-7 inside TLS; the certificate names sqlprod.corp.example only; diagnosis certificate_name_mismatch as a note (name from the DNS query: the client did not validate); outcome connected"
    server --encryption on --ca-signed --cert-cn "${MISMATCH_CN:-sqlprod.corp.example}"  # MISMATCH_CN=sql.lab.test: the control run
    tsql_client require "host = $LAB_NAME"
    tsql_report "host = $LAB_NAME, port = 1433, encryption = require, tds version = 7.4"
    provenance_line checked "the ClientHello carries no server_name extension (tshark: tls.handshake.extensions_server_name empty); the certificate names sqlprod.corp.example only (CN and SAN)"
}

# several-addresses-*: sql.lab.test resolves to 10.10.10.121 (first in dnsmasq's answer, every
# packet to it dropped by nftables, as dns-two-addresses-one-dead) and 10.10.10.120.  In turn:
# the client namespace's net.ipv4.tcp_syn_retries=2 makes the kernel give up a SYN unanswered
# after about 7 s (SYN, retransmissions at 1 s and 3 s) instead of about 2 minutes, so that a
# client that waits for the kernel's verdict reaches the second address within its login timeout.
SCENARIOS+=(
"several-addresses-in-turn|sql.lab.test resolves to 10.10.10.121 (first in the answer, dropped by nftables) and 10.10.10.120; tedious (Node) without multiSubnetFailover connects to the addresses one after the other: its SYN to 10.10.10.121 is retransmitted until the client namespace's kernel gives up (tcp_syn_retries=2, about 7 s), then it connects to 10.10.10.120 and logs in (cleartext, select 1)"
"several-addresses-first-only-jdbc|as several-addresses-in-turn with Microsoft JDBC Driver 13.2, multiSubnetFailover=false and transparentNetworkIPResolution=false, encrypt=false, loginTimeout=20: the driver connects to the first address only (10.10.10.121); its SYN is retransmitted until the kernel gives up (about 7 s) and the driver fails with 'Connection timed out' without ever trying 10.10.10.120"
"several-addresses-in-turn-odbc18|as several-addresses-in-turn with Microsoft ODBC Driver 18 through mssql-python, MultiSubnetFailover=No (the default), Encrypt=no, login timeout 20 s: the driver connects to the first address (10.10.10.121) alone and waits until the kernel gives up on it (about 7 s); then it asks the resolver again and opens connections to both addresses at once (10.10.10.120, now first in the answer, and 10.10.10.121 0.7 ms later); it logs in on 10.10.10.120 (login-only TLS, select 1), the second SYN to 10.10.10.121 stays unanswered"
)
setup_several_addresses_in_turn() {
    setup_dns_two_addresses_one_dead || return 1
    ip netns exec "$NSC" sysctl -qw net.ipv4.tcp_syn_retries=2 || return 1
    note "client namespace: sysctl net.ipv4.tcp_syn_retries=2 (a connect() to an address that never answers fails after about 7 s)"
}
setup_several_addresses_first_only_jdbc() { setup_several_addresses_in_turn; }
setup_several_addresses_in_turn_odbc18() { setup_several_addresses_in_turn; }
sc_several_addresses_in_turn() {
    EXPECT="DNS A answer with 10.10.10.121 first, then 10.10.10.120; a SYN to 10.10.10.121 retransmitted, never answered; only after the client gave up on it, a connection to 10.10.10.120: steps 1,2,4,5,6,7; syn_unanswered on the first connection naming the time lost before 10.10.10.120 was tried and that it answered; outcome connected"
    server --encryption not_sup
    tedious_client "{\"server\": \"$LAB_NAME\", \"encrypt\": false, \"connectTimeout\": 30000}"
    provenance_line driver "$(v_tedious)"
    provenance_line connection "tedious Connection: server $LAB_NAME, port 1433, encrypt false, connectTimeout 30000 ms, multiSubnetFailover not set (false)"
    local err
    err=$(grep -E '^(error|Error|ConnectionError|tedious: .*(error|failed))' "$T/clients.log" | paste -sd'|' | sed 's/|/ | /g')
    provenance_line error "${err:-(none, connected)}"
}
sc_several_addresses_first_only_jdbc() {
    EXPECT="DNS A answer with 10.10.10.121 first, then 10.10.10.120; a SYN to 10.10.10.121 retransmitted, never answered; no connection to 10.10.10.120; diagnosis syn_unanswered; outcome failed"
    server --encryption off
    jdbc_client "jdbc:sqlserver://$LAB_NAME:$PORT;encrypt=false;multiSubnetFailover=false;transparentNetworkIPResolution=false;loginTimeout=20"
}
sc_several_addresses_in_turn_odbc18() {
    EXPECT="as several-addresses-in-turn, if the driver tries the second address at all (it did: after the first address failed, both at once); diagnoses: syn_unanswered on the first connection naming 10.10.10.120 (stream 1) tried 7.2 s later, parallel_attempt on the second SYN to 10.10.10.121"
    server --encryption off
    SERVER_IP=$LAB_NAME odbc18_client --set Encrypt=no --login-timeout 20
}

# several-addresses-parallel-*: sql.lab.test resolves to 10.10.10.121 and 10.10.10.120, both live
# (one scripted server listening on both); a client that connects to all addresses at once keeps
# the first that answers and closes or resets the other.
SCENARIOS+=(
"several-addresses-parallel-close-jdbc|sql.lab.test resolves to 10.10.10.121 and 10.10.10.120, both answered by one scripted server listening on both; Microsoft JDBC Driver 13.2 with multiSubnetFailover=true opens connections to both at once, keeps the one that completes first and closes the other (FIN, no RST) right after its handshake; it logs in on the kept one (login-only TLS, select 1)"
"several-addresses-parallel-close-freetds|as several-addresses-parallel-close-jdbc with tsql (FreeTDS 1.3 connects to all addresses of a name at once): it keeps one connection and closes the other (FIN, no RST) right after its handshake; cleartext login, select 1"
)
setup_several_addresses_parallel_close_jdbc() {
    EXTRA_HOSTS=10.10.10.121
    RESOLVER_RECORDS="$LAB_NAME,10.10.10.121 $LAB_NAME,$SERVER_IP"
    lab_resolver || return 1
    ip -n "$NSS" addr add 10.10.10.121/24 dev eth0 || return 1
    note "10.10.10.121/24 added to the server namespace; the scripted server listens on 0.0.0.0 (both addresses)"
}
setup_several_addresses_parallel_close_freetds() { setup_several_addresses_parallel_close_jdbc; }
sc_several_addresses_parallel_close_jdbc() {
    EXPECT="DNS A answer with 10.10.10.121 and 10.10.10.120; SYNs to both at once, both answered; one connection closed (FIN or RST) by the client right after its handshake without TDS; the other: steps 1-7, login-only TLS; no client_reset on the abandoned one (a parallel attempt); outcome connected"
    server --encryption off --listen 0.0.0.0
    jdbc_client "jdbc:sqlserver://$LAB_NAME:$PORT;encrypt=false;multiSubnetFailover=true"
    provenance_line checked "the driver does not always open the second attempt: when the first completes within about a millisecond it may keep it alone (one run of three showed a single connection); the capture kept shows both, the loser closed by the client with a FIN right after its handshake"
}
sc_several_addresses_parallel_close_freetds() {
    EXPECT="DNS A answer with 10.10.10.121 and 10.10.10.120; SYNs to both at once, both answered; one connection closed by the client right after its handshake without TDS; the other: steps 1,2,4,5,6,7 cleartext; no failure on the abandoned one (a parallel attempt); outcome connected"
    server --encryption not_sup --listen 0.0.0.0
    tsql_client off "host = $LAB_NAME" "connect timeout = 4"
    tsql_report "host = $LAB_NAME, port = 1433, encryption = off, tds version = 7.4, connect timeout = 4"
}
# Microsoft JDBC's default (multiSubnetFailover=false, transparentNetworkIPResolution=true)
SCENARIOS+=(
"several-addresses-tnir-jdbc|as several-addresses-in-turn with Microsoft JDBC Driver 13.2 and its defaults (multiSubnetFailover=false, transparentNetworkIPResolution=true), encrypt=false, loginTimeout=20: the driver sends a SYN to the first address (10.10.10.121) alone, and 0.59 s later (Transparent Network IP Resolution: a short first timeout) opens connections to both addresses at once; 10.10.10.120 answers and the driver logs in on it (login-only TLS, select 1); neither SYN to 10.10.10.121 is answered, and the driver gives them up without a retransmission"
)
setup_several_addresses_tnir_jdbc() { setup_several_addresses_in_turn; }
sc_several_addresses_tnir_jdbc() {
    EXPECT="DNS A answer with 10.10.10.121 first, then 10.10.10.120; a first SYN to 10.10.10.121 alone, then (Transparent Network IP Resolution) connections to both addresses; 10.10.10.120 answers; steps 1-7 on it, login-only TLS; outcome connected"
    server --encryption off
    jdbc_client "jdbc:sqlserver://$LAB_NAME:$PORT;encrypt=false;loginTimeout=20"
}

# ---- a stale address for the name (issue 31 item 1) ----------------------------------------------
# "nslookup says B but the application goes to A": the resolver answers sql.lab.test with the name's
# new address B, 10.10.10.121 (nothing listens there in the lab); the client namespace's own hosts
# file (/etc/netns/<client namespace>/hosts, bind-mounted on /etc/hosts by ip netns exec) still maps
# sql.lab.test to the old address A, 10.10.10.120, where the scripted server answers.  A real DNS
# client (Debian's `host`, bind9-host) asks the resolver and gets B; then the driver, which reads the
# hosts file first (nsswitch "files dns"), connects to A.
STALE_NEW_IP=10.10.10.121
SCENARIOS+=(
"dns-stale-address-jdbc|sql.lab.test: the resolver (dnsmasq) answers 10.10.10.121 (the name's new address), the client namespace's hosts file still maps it to 10.10.10.120 (the old address, where the scripted server still answers); Debian's host command asks the resolver (A, AAAA, MX) and gets 10.10.10.121; then Microsoft JDBC Driver 13.2 (encrypt=false) connects to sql.lab.test, resolves it from the hosts file without any DNS query, and logs in on 10.10.10.120 (login-only TLS with SNI sql.lab.test, select 1)"
)
lab_stale_hosts() {  # after lab_resolver: the hosts file's old address for LAB_NAME
    echo "$SERVER_IP $LAB_NAME" >> "/etc/netns/$NSC/hosts"
    note "client namespace's hosts file: also '$SERVER_IP $LAB_NAME' (the name's old address, while the resolver answers $STALE_NEW_IP)"
}
# dns_host_client NAME: Debian's host (bind9-host) asks the resolver for NAME in the client namespace
dns_host_client() {
    command -v host >/dev/null || die "host missing: apt-get install bind9-host"
    note_client "host $(dpkg-query -W -f='${Version}' bind9-host 2>/dev/null | sed 's/^[0-9]*://;s/-.*//;s/+.*//') (Debian bind9-host)"
    echo "--- host $1" >> "$T/clients.log"
    in_client timeout 10 host "$1" >> "$T/clients.log" 2>&1
    echo "--- host exit $?" >> "$T/clients.log"
    provenance_line dns "host $1 (asks the resolver of resolv.conf, not the hosts file): $(grep -E 'has (IPv6 )?address|not found|timed out' "$T/clients.log" | tail -3 | paste -sd';' | sed 's/;/; /g')"
}
setup_dns_stale_address_jdbc() {
    EXTRA_HOSTS=$STALE_NEW_IP
    RESOLVER_RECORDS="$LAB_NAME,$STALE_NEW_IP"
    lab_resolver || return 1
    lab_stale_hosts
}
sc_dns_stale_address_jdbc() {
    EXPECT="DNS A answer sql.lab.test -> 10.10.10.121 (the host command's query; AAAA and MX without address); no DNS query by the driver; a connection to 10.10.10.120 whose ClientHello names sql.lab.test (SNI); steps 1-7, login-only TLS; note dns_stale_address on the ClientHello naming 10.10.10.121 and the answer's frame; the connection's dns_name sql.lab.test; outcome connected"
    server --encryption off
    dns_host_client "$LAB_NAME"
    sleep 0.5
    jdbc_client "jdbc:sqlserver://$LAB_NAME:$PORT;encrypt=false"
}

# ---- the SQL Browser asked by name (issue 31 item 1: a lookup tied by the SSRP answer's ServerName) ----
# The scripted SQL Browser answers ServerName LABSQL (tds_server.py's SERVER_NAME): the name the
# resolver serves is labsql.lab.test, whose first label is that machine name.
SCENARIOS+=(
"dns-browser-lookup|tsql with host = labsql.lab.test and instance = SQLEXPRESS: glibc's resolver asks dnsmasq (A and AAAA) and gets 10.10.10.120; tsql asks the SQL Browser there (SSRP CLNT_UCAST_INST, UDP 1434), whose answer names the machine LABSQL and tcp 1433, then logs in with login-only TLS and runs select 1"
"dns-stale-address-browser|as dns-browser-lookup, but the resolver answers labsql.lab.test with 10.10.10.121 (the name's new address) while the client namespace's hosts file still maps it to 10.10.10.120 (the old address, where the scripted server and its SQL Browser still answer); Debian's host command asks the resolver (A, AAAA, MX) and gets 10.10.10.121; then tsql (instance = SQLEXPRESS) resolves the name from the hosts file without any DNS query, asks the SQL Browser at 10.10.10.120 (answer: ServerName LABSQL, tcp 1433) and logs in there (login-only TLS, select 1); FreeTDS sends no SNI"
)
setup_dns_browser_lookup() { LAB_NAME=labsql.lab.test; lab_resolver; }
sc_dns_browser_lookup() {
    EXPECT="DNS A answer labsql.lab.test -> 10.10.10.120 (AAAA without address); step 0: SSRP request for SQLEXPRESS and its answer (ServerName LABSQL, tcp 1433); steps 1-7 login-only TLS; the connection's dns_name labsql.lab.test (its server address is in the answer); outcome connected"
    server --encryption off --browser
    tsql_client request "host = $LAB_NAME" "instance = SQLEXPRESS"
    tsql_report "host = $LAB_NAME, instance = SQLEXPRESS, encryption = request, tds version = 7.4"
}
setup_dns_stale_address_browser() {
    LAB_NAME=labsql.lab.test
    EXTRA_HOSTS=$STALE_NEW_IP
    RESOLVER_RECORDS="$LAB_NAME,$STALE_NEW_IP"
    lab_resolver || return 1
    lab_stale_hosts
}
sc_dns_stale_address_browser() {
    EXPECT="DNS A answer labsql.lab.test -> 10.10.10.121 (the host command's query; AAAA and MX without address); no DNS query by tsql; step 0: SSRP request to 10.10.10.120 and its answer (ServerName LABSQL, tcp 1433); steps 1-7 login-only TLS to 10.10.10.120, no SNI; the connection tied to the lookup of labsql.lab.test through the SQL Browser's ServerName (dns_name labsql.lab.test); note dns_stale_address on its first frame naming 10.10.10.121; outcome connected"
    server --encryption off --browser
    dns_host_client "$LAB_NAME"
    sleep 0.5
    tsql_client request "host = $LAB_NAME" "instance = SQLEXPRESS"
    tsql_report "host = $LAB_NAME, instance = SQLEXPRESS, encryption = request, tds version = 7.4"
}
# The name is missing from DNS (NXDOMAIN) but in the client's hosts file: the DNS failure is not what
# the application met. The resolver serves sql.lab.test only (lab_resolver checks that one resolves).
SCENARIOS+=(
"dns-nxdomain-hosts-browser|labsql.lab.test is not in DNS (the resolver answers NXDOMAIN) but the client namespace's hosts file maps it to 10.10.10.120; Debian's host command asks the resolver and gets NXDOMAIN; then tsql (host = labsql.lab.test, instance = SQLEXPRESS) resolves the name from the hosts file without any DNS query, asks the SQL Browser at 10.10.10.120 (answer: ServerName LABSQL, tcp 1433) and logs in there (login-only TLS, select 1)"
)
setup_dns_nxdomain_hosts_browser() {
    lab_resolver || return 1
    echo "$SERVER_IP labsql.lab.test" >> "/etc/netns/$NSC/hosts"
    note "client namespace's hosts file: also '$SERVER_IP labsql.lab.test' (a name the resolver does not know)"
}
sc_dns_nxdomain_hosts_browser() {
    EXPECT="DNS A query for labsql.lab.test answered NXDOMAIN (the host command's); no DNS query by tsql; step 0: SSRP request to 10.10.10.120 and its answer (ServerName LABSQL, tcp 1433); steps 1-7 login-only TLS; on the first pass dns_failed on the NXDOMAIN answer (the SQL Browser has not answered yet), withdrawn with -2 (the client reached the machine LABSQL); outcome connected"
    server --encryption off --browser
    dns_host_client labsql.lab.test
    sleep 0.5
    tsql_client request "host = labsql.lab.test" "instance = SQLEXPRESS"
    tsql_report "host = labsql.lab.test, instance = SQLEXPRESS, encryption = request, tds version = 7.4"
}
SCENARIOS+=(
"dns-nxdomain-hosts-jdbc|as dns-nxdomain-hosts-browser with Microsoft JDBC Driver 13.2 (encrypt=false) and the name sql2.lab.test (not in DNS, in the client's hosts file as 10.10.10.120): host gets NXDOMAIN; the driver resolves the name from the hosts file without any DNS query and logs in on 10.10.10.120 (login-only TLS with SNI sql2.lab.test, select 1)"
)
setup_dns_nxdomain_hosts_jdbc() {
    lab_resolver || return 1
    echo "$SERVER_IP sql2.lab.test" >> "/etc/netns/$NSC/hosts"
    note "client namespace's hosts file: also '$SERVER_IP sql2.lab.test' (a name the resolver does not know)"
}
sc_dns_nxdomain_hosts_jdbc() {
    EXPECT="DNS A query for sql2.lab.test answered NXDOMAIN (the host command's); no DNS query by the driver; steps 1-7 to 10.10.10.120, login-only TLS, ClientHello with SNI sql2.lab.test; on the first pass dns_failed on the NXDOMAIN answer, withdrawn with -2 (the client reached a server by that name); no dns_stale_address (no answer gave addresses); outcome connected"
    server --encryption off
    dns_host_client sql2.lab.test
    sleep 0.5
    jdbc_client "jdbc:sqlserver://sql2.lab.test:$PORT;encrypt=false"
}
