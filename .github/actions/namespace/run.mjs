// The namespace action's one step: turns the action's inputs (INPUT_* variables, set by
// action.yml) into a command of cli/ns.mjs, whose outputs go to $GITHUB_OUTPUT.

import { main } from '../../../cli/ns.mjs';

const input = (name) => (process.env[`INPUT_${name}`] ?? '').trim();

/** The ns.mjs arguments for these inputs. */
export function commandFor(inputs) {
  const target = inputs.NAME ? [inputs.NAME] : ['--branch', inputs.BRANCH];
  if (inputs.PREFIX && !inputs.NAME) target.push('--prefix', inputs.PREFIX);
  switch (inputs.MODE || 'create') {
    case 'create': {
      const args = ['create', ...target, '--github-output', '--if-exists', inputs.IF_EXISTS || 'recreate'];
      if (inputs.SEED_FILE) args.push('--seed', inputs.SEED_FILE);
      if (inputs.IDLE_DAYS) args.push('--idle-days', inputs.IDLE_DAYS);
      return args;
    }
    case 'cleanup':
      return ['delete', ...target];
    default:
      throw new Error(`mode must be create or cleanup, not '${inputs.MODE}'`);
  }
}

const inputs = Object.fromEntries(['MODE', 'NAME', 'PREFIX', 'SEED_FILE', 'IDLE_DAYS', 'IF_EXISTS', 'BRANCH'].map((n) => [n, input(n)]));
try {
  if (!inputs.NAME && !inputs.BRANCH) throw new Error('no name given and no branch to derive one from');
  process.exitCode = await main(commandFor(inputs));
} catch (e) {
  console.error(`error: ${e.message}`);
  process.exitCode = 1;
}
