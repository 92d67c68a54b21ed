export { IsthmusError, isIsthmusError, errorMessage } from './errors.js';
export { parseDuration, formatDuration } from './duration.js';
export { writeFileAtomic } from './files.js';
export { formatData, formatTable, parseOutputFormat } from './output.js';
export type { OutputFormat } from './output.js';
export { SafeRegexError, compileSafeRegex, safeRegexProblem } from './safe-regex.js';
