// @ts-check
const fs = require('node:fs');
const path = require('node:path');

// Only crawl the project's own source folders: keeps node_modules/dist out of
// the haste map (scripts/rig holds the server starters the tests share with the
// benches). Folders that do not exist yet are skipped, since Jest fails on a
// missing root.
const roots = ['src', 'domain', 'projections', 'infra', 'test', 'bench', 'scripts']
  .filter((dir) => fs.existsSync(path.join(__dirname, dir)))
  .map((dir) => `<rootDir>/${dir}`);

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  roots,
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        // Self-contained: a .swcrc added for other tooling must not change how tests compile.
        swcrc: false,
        sourceMaps: 'inline',
        module: { type: 'commonjs' },
        jsc: {
          target: 'es2022',
          // NestJS DI and class-validator read design:* metadata emitted by legacy decorators.
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          keepClassNames: true,
        },
      },
    ],
  },
  globalSetup: '<rootDir>/test/rig/global-setup.ts',
  globalTeardown: '<rootDir>/test/rig/global-teardown.ts',
  // Suites start real databases and brokers; a cold start on 2 busy cores is slow.
  testTimeout: 60_000,
  // A client or child process a suite forgot must not hold the run open until CI's limit
  // (CI stop 21: the run finished in 896 s, then waited 75 min). The global teardown names
  // whatever is still open, so the leak is reported rather than hidden.
  forceExit: true,
};
