"""daozhang (到账): where is my money."""
