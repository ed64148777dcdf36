// golang.org/x/mod/zip and sumdb/dirhash for godepot: which files a module
// zip may hold, verifying a zip with bounded memory, and "h1:" hashes.
// Pure: zips are read through ByteSource; no disk, no network, no clock.
export {
  MAX_ZIP_FILE,
  MAX_GO_MOD,
  MAX_LICENSE,
  checkFiles,
  checkModuleVersion,
  checkZip,
  checkZipEntries,
  formatReport,
  hashZip,
  isVendoredPackage,
  reportError,
  verifyModuleZip,
  zipPrefix,
  type CandidateFile,
  type FileCheckReport,
  type FileProblem,
  type ModuleZipSummary,
  type ZipEntryInfo,
  type ZipReadOptions,
} from './zip.js';
export { ZipError, bufferSource, rangedSource, type ByteSource } from './zipfile.js';
export { hash1, hashFiles, hashGoMod, type FileDigest } from './dirhash.js';
export { goModLang, type GoLang } from './gomod.js';
export { strToFold } from './fold.js';
