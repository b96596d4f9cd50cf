import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{endpointLabel,flowSecrets,parseTarget}from"./chunk-QVM2XUYZ.js";import"./chunk-F6PV6644.js";import"./chunk-FT3H2ILR.js";import"./chunk-BKM354QH.js";export{endpointLabel,flowSecrets,parseTarget};
