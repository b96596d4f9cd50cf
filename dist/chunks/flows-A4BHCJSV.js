import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{classifyError,compileFlows,endpointLabel,flowSecrets,parseTarget}from"./chunk-SOCCZT27.js";import"./chunk-RSJ2Z2FW.js";import"./chunk-F6PV6644.js";import"./chunk-FT3H2ILR.js";import"./chunk-BKM354QH.js";export{classifyError,compileFlows,endpointLabel,flowSecrets,parseTarget};
