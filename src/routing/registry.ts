/** Strategy names (as the INI's LoadBalancingStrategy spells them) to factories. */
import { LOAD_BALANCING_STRATEGIES, type LoadBalancingStrategy } from "../config/schema.js";
import { LeastConnections } from "./least-connections.js";
import { PowerOfTwoChoices } from "./power-of-two-choices.js";
import { Random } from "./random.js";
import { RoundRobin } from "./round-robin.js";
import type { Balancer, BalancerFactory, RoutingDeps } from "./types.js";
import { WeightedRoundRobin } from "./weighted-round-robin.js";

/** Every strategy by its config name; typed as a Record so a name added to the config cannot lack a factory. */
export const BALANCERS: Readonly<Record<LoadBalancingStrategy, BalancerFactory>> = {
  WeightedRoundRobin,
  RoundRobin,
  LeastConnections,
  Random,
  PowerOfTwoChoices,
};

/** Whether a string names a registered strategy. */
export function isLoadBalancingStrategy(name: string): name is LoadBalancingStrategy {
  return Object.hasOwn(BALANCERS, name);
}

/** A balancer for a strategy name; an unknown name throws an Error that lists the valid ones. */
export function createBalancer(name: string, deps: RoutingDeps): Balancer {
  if (!isLoadBalancingStrategy(name)) {
    throw new Error(
      `unknown LoadBalancingStrategy "${name}": expected one of ${LOAD_BALANCING_STRATEGIES.join(", ")}`,
    );
  }
  return BALANCERS[name](deps);
}
