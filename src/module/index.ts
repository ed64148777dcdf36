// golang.org/x/mod `module` and `semver` for godepot: module path and version
// rules, case-escaping, pseudo-versions, GOPRIVATE-style patterns, go.sum order.
// Pure: no I/O, no clock.
export {
  isValid,
  canonical,
  major,
  majorMinor,
  prerelease,
  build,
  compare,
  max,
  sortVersions,
  compareVersionsForSort,
} from './semver.js';
export { InvalidPathError, InvalidVersionError, ModuleError, type PathKind } from './errors.js';
export {
  checkPath,
  checkImportPath,
  checkFilePath,
  isValidModulePath,
  isValidImportPath,
  isValidFilePath,
  splitPathVersion,
  type SplitPath,
} from './path.js';
export {
  check,
  checkVersionOf,
  isVersionOf,
  checkPathMajor,
  matchPathMajor,
  pathMajorPrefix,
  canonicalVersion,
  isCanonicalVersion,
} from './check.js';
export { escapePath, unescapePath, escapeVersion, unescapeVersion, escapedLengthProblem } from './escape.js';
export { InvalidPatternError, matchPrefixPatterns, patternList, splitPatterns } from './patterns.js';
export { pathMatch, BadPatternError } from './pathmatch.js';
export {
  isPseudoVersion,
  isZeroPseudoVersion,
  zeroPseudoVersion,
  pseudoVersionTime,
  pseudoVersionRev,
  pseudoVersionBase,
  pseudoVersion,
} from './pseudo.js';
export { compareModuleVersions, sortModuleVersions, type ModuleVersion } from './gosum.js';
export { compareGoStrings, goStringLess, isValidUTF8, utf8Length, encodeGoString, decodeGoBytes } from './gostring.js';
export { goQuote, goQuoteRune } from './goquote.js';
export { queryVersionProblem, MAX_QUERY_VERSION } from './query.js';
