import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
var VERSION="1.0.0";export{VERSION};
