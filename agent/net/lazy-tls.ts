// node:tls, node:https and node:http, loaded at their first use. Loading node:tls sets OpenSSL's
// TLS up: about 30 ms of CPU here, a tenth of a whole file install, which neither a file nor a
// plain-http download needs (a daemon on an https hub pays it once); node:http (ten modules compiled
// from source, ~6 ms of CPU) is what neither a file install nor a direct download over plain http
// needs: socket-get.ts reads those, node:http only serves proxies and the fallback. getBuiltinModule, not import(): a
// single binary cannot load import() of a builtin (scripts/build/bundle.ts).
export const tls = () => process.getBuiltinModule('node:tls');
export const https = () => process.getBuiltinModule('node:https');
export const http = () => process.getBuiltinModule('node:http');
