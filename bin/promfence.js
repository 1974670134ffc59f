#!/usr/bin/env node
// The promfence command. Runs the TypeScript sources directly through tsx's ESM loader,
// so `npm ci && npx promfence ...` works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
