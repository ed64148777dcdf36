// Setup file (vitest.config.ts): after each test file, the servers it left running are killed (spawned.ts).
import { afterAll } from 'vitest';
import { killSpawned } from './spawned.js';

afterAll(() => killSpawned());
