"""Each site's baseline and final added up once, for every comparison."""
