// node:tls, node:https and node:http, loaded at their first use. Loading node:tls sets OpenSSL's
// TLS up: about 30 ms of CPU here, a tenth of a whole file install, which neither a file nor a
// plain-http download needs (a daemon on an https hub pays it once); node:http is what a file
// install would load only to route a download it never makes. getBuiltinModule, not import(): a
// single binary cannot load import() of a builtin (scripts/build/bundle.ts).
export const tls = () => process.getBuiltinModule('node:tls');
export const https = () => process.getBuiltinModule('node:https');
export const http = () => process.getBuiltinModule('node:http');
