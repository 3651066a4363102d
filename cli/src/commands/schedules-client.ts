import { InvalidInputError } from '@archfarm/common';
import { connectScheduleService, type ScheduleCalls } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';

/**
 * The NAME argument of `schedules show|run|pause|resume|rm`: the coordinator checks the
 * alphabet at `add`; here only what cannot be a name at all is stopped before connecting.
 */
export function parseScheduleName(text: string, field = 'NAME'): string {
  const name = text.trim();
  if (name === '' || /\s/.test(name)) throw new InvalidInputError(field, `"${text}" is not a schedule name; \`archfarm schedules\` lists them`);
  return name;
}

/** Connects as every command does, calls `use` with a ScheduleService client and its address, closes it. */
export async function withSchedules<T>(flags: ConnectionFlags, ctx: CommandContext, use: (client: ScheduleCalls, address: string) => Promise<T>): Promise<T> {
  const conn = await connect(flags, ctx);
  const client = connectScheduleService(conn);
  try {
    return await use(client, conn.address);
  } finally {
    client.close();
  }
}
