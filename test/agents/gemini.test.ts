import { GEMINI_RETRY_SECONDS } from './gemini-api.js';
import { describeRealCli } from './suite.js';

// A daily quota: gemini's error says "Please retry in 12300s" (3h25m), a quota, not a rate limit.
describeRealCli('gemini', {
  limitQuestion: /^usage limit reached; retrying after .*quota/,
  pauseMs: {
    min: (GEMINI_RETRY_SECONDS - 60) * 1000,
    max: (GEMINI_RETRY_SECONDS + 60) * 1000,
  },
  hangTimeoutMinutes: 0.25,
  usage: { input_tokens: 200, output_tokens: 40 },
  authCause: /API key not valid/,
});
