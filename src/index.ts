// The action's entry point: everything else is decided in main.ts.
import { run } from './main.js';

void run();
