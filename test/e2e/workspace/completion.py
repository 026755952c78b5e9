def add(a, b):
    return a + b


def greet(name):
    message = "Hello, " + name
    print(message)
    return message


numbers = [1, 2, 3, 4]
for n in numbers:
    print(add(n, 1))
