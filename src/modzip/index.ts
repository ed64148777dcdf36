// golang.org/x/mod/zip and sumdb/dirhash for godepot: which files a module
// zip may hold, verifying a zip in one streaming pass, and "h1:" hashes.
// Pure: zips are read through ByteSource; no disk, no network, no clock.
export { MAX_ZIP_FILE, MAX_GO_MOD, MAX_LICENSE, ZipError, type FileProblem } from './errors.js';
export { bufferSource, type ByteSource } from './source.js';
export { STAGE_MAX, type OffThreadHash, type OffThreadSha } from './entry-hasher.js';
export { hash1, hashFiles, hashGoMod, type FileDigest } from './hash.js';
export { checkFiles, isVendoredPackage, type CandidateFile, type FileCheckReport } from './check-files.js';
export {
  checkZipEntries,
  checkModuleVersion,
  formatReport,
  reportError,
  zipPrefix,
  type ZipEntryInfo,
} from './check-zip.js';
export { goModLang, type GoLang } from './gomod.js';
export { strToFold } from './fold.js';
export { verifyModuleZip, hashZip, checkZip, type ModuleZipSummary, type ZipReadOptions } from './verify.js';
