import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{collectAll,createSources,infraTargetProblems,sourcesSchema,startSources,stopSources}from"./chunk-FKWTZ4QI.js";import"./chunk-KZRG6X4Q.js";import"./chunk-NHZR4S7C.js";import"./chunk-BKM354QH.js";export{collectAll,createSources,infraTargetProblems,sourcesSchema,startSources,stopSources};
