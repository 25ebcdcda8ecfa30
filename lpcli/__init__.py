"""``lp``, the command line for the people of the network: orchestrators register and set their terms, service URI
and price; delegators bond and unbond; broadcasters fund their tickets; everyone sees the round, the active set,
their stake, fees and funds, and the tickets redeemed."""
