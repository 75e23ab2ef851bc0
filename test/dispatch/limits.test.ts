import { describeLimits } from './limits-suite.js';

describeLimits('processes');
