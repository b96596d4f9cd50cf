import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{UserError,messageOf}from"./chunk-FT3H2ILR.js";import"./chunk-BKM354QH.js";export{UserError,messageOf};
