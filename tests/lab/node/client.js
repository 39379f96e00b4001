// tedious client for the tdsdiag capture lab.
// Usage: node client.js '<json options>'
//   server, port, user, password, encrypt (true|false|"strict": TDS 8.0, TLS
//   first with ALPN tds/8.0; tedious then ignores trustServerCertificate and
//   always verifies the certificate, so pass ca), trustServerCertificate,
//   serverName (SNI and the name checked in the certificate; by default
//   tedious sends no SNI for an IP address and checks the IP),
//   ca (file), minVersion, maxVersion, ciphers, connectTimeout, requestTimeout,
//   query (default "select 1"), close: "end" (default) | "reset" (RST via
//   socket.resetAndDestroy()), holdMs (wait before closing),
//   auth: "ntlm" (tedious' NTLM with user, password and domain; default: SQL login),
//   cancelAfterMs (cancel the query this long after sending it: attention),
//   cancelTimeout (tedious' wait for the attention acknowledgement),
//   thenQuery (run after a query cancelled with ECANCEL, e.g. "select 1"),
//   closeAfterLoginMs (the application gives up on the login this long after
//   tedious sent its Login7, seen through tedious' debug packet log, and
//   calls conn.close(): a login timeout counted from the Login7)
'use strict';
const fs = require('fs');
const { Connection, Request } = require('tedious');

const o = Object.assign({
  server: '10.10.10.120', port: 1433, user: 'sa', password: 'Lab-Passw0rd',
  encrypt: true, trustServerCertificate: true, query: 'select 1',
  connectTimeout: 15000, close: 'end', holdMs: 0,
}, JSON.parse(process.argv[2] || '{}'));

const creds = {};
if (o.minVersion) creds.minVersion = o.minVersion;
if (o.maxVersion) creds.maxVersion = o.maxVersion;
if (o.ciphers) creds.ciphers = o.ciphers;
if (o.ca) creds.ca = fs.readFileSync(o.ca);

const conn = new Connection({
  server: o.server,
  // ntlm: tedious' own NTLM (Login7 with an NTLMSSP NEGOTIATE), domain from o.domain
  authentication: o.auth === 'ntlm'
    ? { type: 'ntlm', options: { userName: o.user, password: o.password, domain: o.domain || '' } }
    : { type: 'default', options: { userName: o.user, password: o.password } },
  options: {
    port: o.port, encrypt: o.encrypt, trustServerCertificate: o.trustServerCertificate,
    connectTimeout: o.connectTimeout, requestTimeout: o.requestTimeout || 15000,
    cryptoCredentialsDetails: creds, database: undefined,
    ...(o.serverName ? { serverName: o.serverName } : {}),
    ...(o.cancelTimeout !== undefined ? { cancelTimeout: o.cancelTimeout } : {}),
    ...(o.closeAfterLoginMs !== undefined ? { debug: { packet: true } } : {}),
  },
});

function finish(code) {
  setTimeout(() => {
    if (o.close === 'reset' && conn.socket && typeof conn.socket.resetAndDestroy === 'function') {
      conn.socket.resetAndDestroy();
      console.log('tedious: socket reset (RST)');
      setTimeout(() => process.exit(code), 200);
    } else {
      conn.close();
      setTimeout(() => process.exit(code), 300);
    }
  }, o.holdMs);
}

conn.on('connect', (err) => {
  if (err) {
    console.log('tedious: connect failed: ' + (err.code || '') + ' ' + err.message);
    setTimeout(() => process.exit(2), 300);
    return;
  }
  const s = conn.messageIo && conn.messageIo.socket;
  const tlsSock = (s && typeof s.getProtocol === 'function') ? s
    : (conn.messageIo && conn.messageIo.securePair && conn.messageIo.securePair.cleartext);
  if (tlsSock && typeof tlsSock.getProtocol === 'function') {
    console.log('tedious: connected (' + tlsSock.getProtocol() + ', ' + (tlsSock.getCipher() || {}).name
      + (tlsSock.alpnProtocol ? ', ALPN ' + tlsSock.alpnProtocol : '') + ')');
  } else {
    console.log('tedious: connected');
  }
  if (!o.query) return finish(0);
  const t0 = Date.now();
  const req = new Request(o.query, (e, rowCount) => {
    if (e && o.thenQuery && e.code === 'ECANCEL') {
      console.log('tedious: query cancelled after ' + (Date.now() - t0) + ' ms: ' + e.message);
      const req2 = new Request(o.thenQuery, (e2, rows2) => {
        if (e2) { console.log('tedious: query failed: ' + e2.message); return finish(3); }
        console.log('tedious: query done, rows=' + rows2);
        finish(0);
      });
      req2.on('row', (cols) => console.log('tedious: row ' + cols.map((c) => c.value).join(',')));
      return conn.execSqlBatch(req2);
    }
    if (e) { console.log('tedious: query failed: ' + (o.cancelAfterMs ? (Date.now() - t0) + ' ms: ' : '') + e.message); return finish(3); }
    console.log('tedious: query done, rows=' + rowCount);
    finish(0);
  });
  req.on('row', (cols) => console.log('tedious: row ' + cols.map((c) => c.value).join(',')));
  conn.execSqlBatch(req);
  if (o.cancelAfterMs) {
    setTimeout(() => { console.log('tedious: cancelling (attention)'); req.cancel(); }, o.cancelAfterMs);
  }
});
conn.on('error', (e) => console.log('tedious: error: ' + e.message));
if (o.closeAfterLoginMs !== undefined) {
  // tedious' packet log: a line "Sent", then the packet header "type:0x10(LOGIN7), ..."
  let sent = false, armed = false;
  conn.on('debug', (line) => {
    if (line === 'Sent') { sent = true; return; }
    if (sent && !armed && /type:0x10\b/.test(line)) {
      armed = true;
      const t0 = Date.now();
      setTimeout(() => {
        console.log('tedious: giving up on the login ' + (Date.now() - t0) + ' ms after the Login7: conn.close()');
        conn.close();
        setTimeout(() => process.exit(2), 300);
      }, o.closeAfterLoginMs);
    }
    sent = false;
  });
}
conn.on('end', () => console.log('tedious: connection ended'));
conn.on('rerouting', () => console.log('tedious: rerouting (ENVCHANGE routing in the login response)'));
conn.connect();
