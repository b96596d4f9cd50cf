import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{UserError}from"./chunk-NHZR4S7C.js";import"./chunk-BKM354QH.js";export{UserError};
