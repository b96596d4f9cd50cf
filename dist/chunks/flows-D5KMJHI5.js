import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{classifyError,compileFlows,endpointLabel,flowSecrets,parseTarget}from"./chunk-MER57MRT.js";import{redactUrl}from"./chunk-2QDSKOXJ.js";import"./chunk-NHZR4S7C.js";import"./chunk-BKM354QH.js";export{classifyError,compileFlows,endpointLabel,flowSecrets,parseTarget,redactUrl};
