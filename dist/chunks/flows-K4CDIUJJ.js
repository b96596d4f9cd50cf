import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{classifyError,compileFlows,endpointLabel,flowSecrets,parseTarget,redactUrl}from"./chunk-CY2P7XPW.js";import"./chunk-GSNVINLC.js";import"./chunk-NHZR4S7C.js";import"./chunk-BKM354QH.js";export{classifyError,compileFlows,endpointLabel,flowSecrets,parseTarget,redactUrl};
