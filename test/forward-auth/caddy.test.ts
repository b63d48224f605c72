import { describeRealProxy } from './real-proxy-scenarios.js';

// Debian's Caddy with forward_auth, configured by `outpost serve --print-config caddy`
describeRealProxy('caddy');
