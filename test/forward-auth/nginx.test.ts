import { describeRealProxy } from './real-proxy-scenarios.js';

// Debian's nginx with auth_request, configured by `outpost serve --print-config nginx`
describeRealProxy('nginx');
