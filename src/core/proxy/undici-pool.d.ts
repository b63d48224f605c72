// undici's Pool alone, without the rest of the package (fetch, WebSocket, cache, ...): loading all
// of undici was a sixth of `serve`'s start-up. The file has held Pool since undici 4.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
