import { describeLimits } from './limits-suite.js';

describeLimits('runner');
