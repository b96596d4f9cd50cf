import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{__name}from"./chunk-BKM354QH.js";var UserError=class extends Error{static{__name(this,"UserError")}name="UserError"};export{UserError};
