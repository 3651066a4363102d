/** The archfarm coordinator as a library (the binary is main.ts). */
export { Coordinator } from './coordinator';
export type { CoordinatorOptions } from './options';
export * from './publish';
