import type { TextSink } from '../io';
import { JsonRenderer } from './json';
import { PlainRenderer } from './plain';
import { QuietRenderer } from './quiet';
import type { ProgressRenderer, ShownProgress } from './renderer';
import { columnsOf, rowsOf } from './terminal';
import { TtyRenderer } from './tty';

/** The renderer for a --progress mode ('auto' already resolved: ./terminal), writing to `out` (stderr). */
export function createRenderer(mode: ShownProgress, out: TextSink): ProgressRenderer {
  switch (mode) {
    case 'tty':
      // Read at each redraw: the terminal may be resized mid-build.
      return new TtyRenderer(out, { columns: () => columnsOf(out), rows: () => rowsOf(out), now: () => Date.now() });
    case 'plain':
      return new PlainRenderer(out);
    case 'json':
      return new JsonRenderer(out);
    case 'quiet':
      return new QuietRenderer(out);
  }
}
