import { describeOrphans } from './orphans-suite.js';

describeOrphans('restart');
