// The test world: fake upstreams (a GOPROXY and a checksum database, both on
// loopback with fault switches), fixture modules, and the real go command.
export {
  faults,
  type Fault,
  type FaultKind,
  type FaultOptions,
  type LoggedRequest,
  type RequestMatch,
} from './faults.js';
export { FakeHttpServer, GARBAGE, type Reply } from './httpfake.js';
export {
  buildModule,
  buildModules,
  buildToolchain,
  fixtureGoMod,
  isBuiltModule,
  type BuiltModule,
  type FixtureModule,
} from './modules.js';
export { buildApp, SHAPES, APP_PATH, type FixtureApp, type FixtureTool, type FixtureWorld } from './app.js';
export { FakeGoProxy, latestVersion, parseProxyPath, type FakeGoProxyOptions, type ProxyQuery } from './goproxy.js';
export { FakeSumDb, recordText, type FakeSumDbOptions, type ModuleSource, type SumRecordInput } from './sumdb.js';
export { TEST_KEY, TEST_KEY_NAME, type SumDbKey } from './sumkeys.js';
export { SumLog, type LogRecord } from './sumlog.js';
export { LaxFrontend, laxNormalise, LAX_PREFIX, PRIVATE_SECRET } from './lax.js';
export { readZipEntries, type ZipEntryData } from './zipread.js';
export {
  findGo,
  locateGo,
  requireGo,
  goEnv,
  goPaths,
  runGo,
  writeApp,
  describeRun,
  sharedGoCache,
  goVersion,
  GoMissingError,
  telemetryOff,
  type AppFiles,
  type GoEnvOptions,
  type GoPaths,
  type GoResult,
  type RunGoOptions,
} from './gocmd.js';
