import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{DEFAULTS,DEFAULT_CONFIG_PATH,INPUT_NAMES,redactUrl,resolveConfig}from"./chunk-ZL2IQZSR.js";import"./chunk-FKWTZ4QI.js";import"./chunk-KZRG6X4Q.js";import"./chunk-NHZR4S7C.js";import"./chunk-BKM354QH.js";export{DEFAULTS,DEFAULT_CONFIG_PATH,INPUT_NAMES,redactUrl,resolveConfig};
