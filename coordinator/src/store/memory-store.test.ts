import { MemoryStore } from './memory-store';
import { storeContract } from './store-contract';

storeContract('MemoryStore', async () => new MemoryStore());
