import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{NO_CHECKS,checksSchema,hasChecks}from"./chunk-GO3GCWG2.js";import"./chunk-JU7GDAY4.js";import"./chunk-L66MS3TL.js";import"./chunk-BKM354QH.js";export{NO_CHECKS,checksSchema,hasChecks};
