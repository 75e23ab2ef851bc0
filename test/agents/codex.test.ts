import { CODEX_RESET_IN_SECONDS } from './openai-responses-api.js';
import { describeRealCli } from './suite.js';

// A ChatGPT-plan usage limit: codex prints the reset as a clock time ("try again at 11:40 PM"),
// read to the minute.
describeRealCli('codex', {
  limitVariant: 'usage',
  limitQuestion: /^usage limit reached; retrying after .*: You.ve hit your usage limit/,
  pauseMs: {
    min: (CODEX_RESET_IN_SECONDS - 120) * 1000,
    max: (CODEX_RESET_IN_SECONDS + 120) * 1000,
  },
  hangTimeoutMinutes: 0.1,
  usage: { input_tokens: 200, output_tokens: 40 },
  resume: { usage: { input_tokens: 300, output_tokens: 60 } },
  authCause: /401 Unauthorized/,
});
