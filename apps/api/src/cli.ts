/**
 * User administration from the command line:
 *
 *   pnpm --filter @lumen/api cli user add <name> [--admin] [--password-stdin]
 *   pnpm --filter @lumen/api cli user passwd <name> [--password-stdin]
 *   pnpm --filter @lumen/api cli user list
 *
 * The database comes from the config (DATABASE_URL, else DATA_DIR/lumen.db). The password
 * comes from stdin (--password-stdin), else LUMEN_PASSWORD, else a hidden prompt on a terminal.
 * Exit codes: 0 done, 1 refused or failed (the message names the bad value), 2 usage error.
 */
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from '@lumen/core';
import { openDatabase, UsersRepository } from '@lumen/db';
import { PromptCancelledError, promptHidden, readPasswordFromStdin } from './cli/password-input.ts';
import { checkUsername, UserError, UsersService } from './services/users.service.ts';

const USAGE = `Usage:
  cli user add <name> [--admin] [--password-stdin]   create a user
  cli user passwd <name> [--password-stdin]          set a user's password
  cli user list                                      list users

The password is read from stdin with --password-stdin, else from LUMEN_PASSWORD,
else asked for on the terminal.`;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

interface Args {
  command: 'add' | 'passwd' | 'list';
  username?: string;
  admin: boolean;
  passwordStdin: boolean;
}

const OPTIONS = {
  admin: { type: 'boolean' },
  'password-stdin': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parse(argv: string[]): Args | 'help' {
  const { values, positionals } = parseFlags(argv);
  if (values.help) return 'help';
  const [group, command, username, ...rest] = positionals;
  if (group !== 'user') throw new UsageError(group ? `unknown command "${group}"` : 'no command given');
  const flags = { admin: values.admin ?? false, passwordStdin: values['password-stdin'] ?? false };
  if (command === 'list') {
    if (username !== undefined) throw new UsageError(`"user list" takes no argument, got "${username}"`);
    if (flags.admin || flags.passwordStdin) throw new UsageError('"user list" takes no option');
    return { command, ...flags };
  }
  if (command === 'add' || command === 'passwd') {
    if (!username) throw new UsageError(`"user ${command}" needs a user name`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (command === 'passwd' && flags.admin) throw new UsageError('--admin only applies to "user add"');
    return { command, username, ...flags };
  }
  throw new UsageError(
    command ? `unknown user command "${command}"` : 'missing user command (add, passwd, list)',
  );
}

async function getPassword(args: Args, forWhom: string): Promise<string> {
  if (args.passwordStdin) return readPasswordFromStdin();
  const fromEnv = process.env.LUMEN_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) {
    throw new UsageError('no password given: use --password-stdin, set LUMEN_PASSWORD, or run in a terminal');
  }
  const first = await promptHidden(`Password for ${forWhom}: `);
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new UserError('invalid-password', 'the two passwords differ');
  return first;
}

async function run(args: Args, config: Config): Promise<void> {
  const database = await openDatabase(config.database);
  try {
    const users = new UsersService(new UsersRepository(database.db));
    if (args.command === 'list') {
      const all = await users.list();
      if (all.length === 0) {
        process.stdout.write('no users\n');
        return;
      }
      const width = Math.max(8, ...all.map((u) => u.username.length));
      process.stdout.write(`${'ID'.padEnd(6)}${'USERNAME'.padEnd(width + 2)}${'ADMIN'.padEnd(7)}CREATED\n`);
      for (const u of all) {
        process.stdout.write(
          `${String(u.id).padEnd(6)}${u.username.padEnd(width + 2)}${(u.isAdmin ? 'yes' : 'no').padEnd(7)}${u.createdAt}\n`,
        );
      }
      return;
    }
    const username = args.username!;
    const existing = await users.find(username);
    if (args.command === 'add') {
      // Refuse before asking for a password that would be thrown away.
      checkUsername(username);
      if (existing) throw new UserError('duplicate-user', `user "${username}" already exists`);
      const password = await getPassword(args, `new user "${username}"`);
      const user = await users.create({ username, password, isAdmin: args.admin });
      process.stdout.write(
        `created ${user.isAdmin ? 'admin ' : ''}user "${user.username}" (id ${user.id})\n`,
      );
      return;
    }
    if (!existing) throw new UserError('unknown-user', `unknown user "${username}"`);
    const password = await getPassword(args, `"${username}"`);
    await users.changePassword(username, password);
    process.stdout.write(`changed the password of "${username}"\n`);
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let args: Args | 'help';
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }

  let config: Config;
  try {
    // Relative DATA_DIR / DATABASE_URL are taken from where the command was typed, not apps/api.
    config = loadConfig(process.env, process.env.INIT_CWD ?? process.cwd());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return EXIT_FAILED;
  }

  try {
    await run(args, config);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_FAILED;
    }
    if (err instanceof PromptCancelledError) {
      process.stderr.write('cancelled\n');
      return EXIT_FAILED;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
}

process.exitCode = await main(process.argv.slice(2));
