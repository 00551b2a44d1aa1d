"""graphrec: recommendations from a Neo4j graph with LightGCN embeddings."""
