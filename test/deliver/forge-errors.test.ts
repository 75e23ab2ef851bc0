import { describeForgeErrors } from './forge-errors-suite.js';

for (const kind of ['github', 'gitlab', 'gitea'] as const) describeForgeErrors(kind, 'common');
