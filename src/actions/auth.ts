/** The role checks the actions' authorization rules build on (see access.ts and auth/users.ts). */
export { canEditSource, canReadSource, type Capacity, capacityIn, memberOrgIds } from "../auth/users.ts";
