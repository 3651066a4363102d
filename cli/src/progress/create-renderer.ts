import type { TextSink } from '../io';
import { JsonRenderer } from './json';
import { PlainRenderer } from './plain';
import { QuietRenderer } from './quiet';
import type { ProgressMode, ProgressRenderer } from './renderer';

/** The renderer for a --progress mode, writing to `out` (stderr). */
export function createRenderer(mode: Exclude<ProgressMode, 'auto'>, out: TextSink): ProgressRenderer {
  switch (mode) {
    case 'plain':
      return new PlainRenderer(out);
    case 'json':
      return new JsonRenderer(out);
    case 'quiet':
      return new QuietRenderer(out);
  }
}
