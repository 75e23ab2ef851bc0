import { describeForgeErrors } from './forge-errors-suite.js';

describeForgeErrors('github', 'github-answers');
